import { ValidationError } from '../../domain/errors.js';
import type { MetadataCondition, SearchScope } from '../../domain/filters.js';

/** Collects the parameters of one statement and hands out their `$n` placeholders. */
export class SqlParams {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const comparisons = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/**
 * The WHERE conditions of a search scope over `memories` under the alias `m`, with the same meaning
 * as the vector store's filters, so both legs of a search see the same memories: bounds on
 * `created_at` are exclusive, a missing key is neither equal to nor in anything (so it passes
 * `ne` and `nin`), and ranges compare numbers only.
 */
export function scopeConditions(scope: SearchScope, params: SqlParams): string[] {
  return [`m.tenant_id = ${params.add(scope.tenantId)}`, `m.user_id = ${params.add(scope.userId)}`, 'NOT m.deleted', ...narrowingConditions(scope, params)];
}

/** The conditions of a scope past its tenant, its user and being live: session, time and metadata. */
export function narrowingConditions(scope: SearchScope, params: SqlParams): string[] {
  const conditions: string[] = [];
  if (scope.sessionId !== undefined) conditions.push(`m.session_id = ${params.add(scope.sessionId)}`);
  if (scope.createdAfter !== undefined) conditions.push(`m.created_at > ${params.add(scope.createdAfter)}::timestamptz`);
  if (scope.createdBefore !== undefined) conditions.push(`m.created_at < ${params.add(scope.createdBefore)}::timestamptz`);
  for (const condition of scope.metadata ?? []) conditions.push(metadataCondition(condition, params));
  return conditions;
}

function metadataCondition(condition: MetadataCondition, params: SqlParams): string {
  const value = `(m.metadata -> ${params.add(condition.key)})`;
  switch (condition.op) {
    case 'eq':
      return `${value} = ${params.add(JSON.stringify(condition.value))}::jsonb`;
    case 'ne':
      return `${value} IS DISTINCT FROM ${params.add(JSON.stringify(condition.value))}::jsonb`;
    case 'in':
    case 'nin': {
      const list = `ARRAY(SELECT jsonb_array_elements(${params.add(JSON.stringify(condition.value))}::jsonb))`;
      // A missing key is NULL, and NULL = ANY(...) is unknown: coalesce makes it plainly false.
      const member = `coalesce(${value} = ANY(${list}), false)`;
      return condition.op === 'in' ? member : `NOT ${member}`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof condition.value !== 'number') {
        throw new ValidationError(`metadata filter "${condition.key}" ${condition.op} needs a number`);
      }
      // CASE, not AND: SQL does not promise to test the type before it casts.
      const number = `CASE WHEN jsonb_typeof(${value}) = 'number' THEN ${value}::float8 END`;
      return `${number} ${comparisons[condition.op]} ${params.add(condition.value)}::float8`;
    }
  }
}
