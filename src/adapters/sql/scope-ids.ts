import type { SearchScope } from '../../domain/filters.js';
import { scopeConditions, SqlParams } from './scope-conditions.js';
import type { SqlStatement } from './sql-client.js';

/** The memories a scope listing brings along when the scope is small (see scopeIdsStatement). */
export interface ListedMemories {
  /** The most memories the scope may hold for them to come. */
  readonly upTo: number;
  /** Columns of `memories m` to bring, `id` among them. */
  readonly columns: string;
}

/**
 * Ids of up to `limit` live memories of the scope, walked through the user's index range, in one
 * row: the ids joined by spaces (an id holds none, see IDENTIFIER_PATTERN), null when there are
 * none. A search asks for up to 5,001 of them; one row instead of thousands spares the embedded
 * database a message per row and the caller an object per id. With `memories`, the same row also
 * holds the scope's memories as a JSON array when it lists no more than `memories.upTo` ids, and
 * fewer than `limit` (null otherwise): their rows are read only then, by key.
 */
export function scopeIdsStatement(scope: SearchScope, limit: number, memories?: ListedMemories): SqlStatement {
  const params = new SqlParams();
  const conditions = scopeConditions(scope, params).join(' AND ');
  const listing = `SELECT m.id FROM memories m WHERE ${conditions} LIMIT ${params.add(Math.max(0, Math.floor(limit)))}`;
  if (memories === undefined) {
    return { text: `SELECT string_agg(scoped.id, ' ') AS ids FROM (${listing}) scoped`, params: params.values };
  }
  // A listing that stops at its limit may have left memories out: then none come.
  const upTo = params.add(Math.max(0, Math.min(Math.floor(memories.upTo), Math.floor(limit) - 1)));
  const tenant = params.add(scope.tenantId);
  return {
    text: `WITH listed AS MATERIALIZED (${listing})
           SELECT (SELECT string_agg(listed.id, ' ') FROM listed) AS ids,
                  (SELECT json_agg(found)::text FROM (
                     SELECT ${memories.columns} FROM memories m
                     WHERE (SELECT count(*) FROM listed) <= ${upTo}
                       AND m.tenant_id = ${tenant} AND m.id IN (SELECT listed.id FROM listed)
                   ) found) AS memories`,
    params: params.values,
  };
}

/** The ids in the answer of scopeIdsStatement. */
export function idsOfScopeRows(rows: ReadonlyArray<{ readonly ids?: string | null }>): string[] {
  const joined = rows[0]?.ids;
  return joined === undefined || joined === null || joined === '' ? [] : joined.split(' ');
}

/** The memories in the answer of scopeIdsStatement with `memories`: null when the scope held too many. */
export function memoriesOfScopeRows<Row>(rows: ReadonlyArray<{ readonly ids?: string | null; readonly memories?: string | null }>): Row[] | null {
  const found = rows[0]?.memories;
  if (found !== undefined && found !== null) return JSON.parse(found) as Row[];
  // No memory at all is a scope small enough; otherwise it held more than asked for.
  return idsOfScopeRows(rows).length === 0 ? [] : null;
}
