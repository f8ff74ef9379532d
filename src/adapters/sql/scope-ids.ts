import type { SearchScope } from '../../domain/filters.js';
import { scopeConditions, SqlParams } from './scope-conditions.js';
import type { SqlStatement } from './sql-client.js';

/** Ids of up to `limit` live memories of the scope, walked through the user's index range. */
export function scopeIdsStatement(scope: SearchScope, limit: number): SqlStatement {
  const params = new SqlParams();
  const conditions = scopeConditions(scope, params).join(' AND ');
  return {
    text: `SELECT m.id FROM memories m WHERE ${conditions} LIMIT ${params.add(Math.max(0, Math.floor(limit)))}`,
    params: params.values,
  };
}
