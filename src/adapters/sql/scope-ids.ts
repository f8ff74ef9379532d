import type { SearchScope } from '../../domain/filters.js';
import { scopeConditions, SqlParams } from './scope-conditions.js';
import type { SqlStatement } from './sql-client.js';

/**
 * Ids of up to `limit` live memories of the scope, walked through the user's index range, in one
 * row: the ids joined by spaces (an id holds none, see IDENTIFIER_PATTERN), null when there are
 * none. A search asks for up to 5,001 of them; one row instead of thousands spares the embedded
 * database a message per row and the caller an object per id.
 */
export function scopeIdsStatement(scope: SearchScope, limit: number): SqlStatement {
  const params = new SqlParams();
  const conditions = scopeConditions(scope, params).join(' AND ');
  return {
    text: `SELECT string_agg(scoped.id, ' ') AS ids
           FROM (SELECT m.id FROM memories m WHERE ${conditions} LIMIT ${params.add(Math.max(0, Math.floor(limit)))}) scoped`,
    params: params.values,
  };
}

/** The ids in the answer of scopeIdsStatement. */
export function idsOfScopeRows(rows: ReadonlyArray<{ readonly ids?: string | null }>): string[] {
  const joined = rows[0]?.ids;
  return joined === undefined || joined === null || joined === '' ? [] : joined.split(' ');
}
