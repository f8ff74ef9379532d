import { ValidationError } from '../../domain/errors.js';
import type { MetadataCondition, SearchScope } from '../../domain/filters.js';
import type { MetadataValue } from '../../domain/memory.js';
import { CREATED_AT_KEY, SESSION_ID_KEY, metadataKey } from './record-metadata.js';

/** A Chroma `where` document. */
export type Where = Readonly<Record<string, unknown>>;

/** The scope's filters as a Chroma `where`: null when nothing is filtered, `'none'` when nothing can match. */
export type WhereClause = Where | null | 'none';

const comparisonOperators = { eq: '$eq', ne: '$ne', gt: '$gt', gte: '$gte', lt: '$lt', lte: '$lte' } as const;

/**
 * Translates the filters of a search scope. Tenant and user are not part of it: they select the
 * collection. `createdAfter` and `createdBefore` are exclusive bounds.
 */
export function whereForScope(scope: SearchScope): WhereClause {
  const clauses: Where[] = [];
  if (scope.sessionId !== undefined) clauses.push({ [SESSION_ID_KEY]: { $eq: scope.sessionId } });
  if (scope.createdAfter !== undefined) clauses.push({ [CREATED_AT_KEY]: { $gt: scope.createdAfter.getTime() } });
  if (scope.createdBefore !== undefined) clauses.push({ [CREATED_AT_KEY]: { $lt: scope.createdBefore.getTime() } });
  for (const condition of scope.metadata ?? []) {
    const translated = whereForCondition(condition);
    if (translated === 'none') return 'none';
    clauses.push(...translated);
  }
  if (clauses.length === 0) return null;
  if (clauses.length === 1) return clauses[0] ?? null;
  return { $and: clauses };
}

function whereForCondition(condition: MetadataCondition): Where[] | 'none' {
  const key = metadataKey(condition.key);
  switch (condition.op) {
    case 'eq':
    case 'ne':
      return [{ [key]: { [comparisonOperators[condition.op]]: condition.value } }];
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      // Chroma orders numbers only; a string bound would be rejected as an invalid where.
      if (typeof condition.value !== 'number') {
        throw new ValidationError(`metadata filter "${condition.key}" ${condition.op} needs a number`);
      }
      return [{ [key]: { [comparisonOperators[condition.op]]: condition.value } }];
    case 'in': {
      if (condition.value.length === 0) return 'none';
      // Chroma wants every list of $in/$nin to hold one type, so a mixed list is split per type
      // (numbers are all sent as floats: see float-json.ts).
      const lists = listsByType(condition.value).map((values) => ({ [key]: { $in: values } }));
      return lists.length === 1 ? lists : [{ $or: lists }];
    }
    case 'nin':
      return listsByType(condition.value).map((values) => ({ [key]: { $nin: values } }));
  }
}

function listsByType(values: readonly MetadataValue[]): MetadataValue[][] {
  const byType = new Map<string, MetadataValue[]>();
  for (const value of values) {
    const list = byType.get(typeof value);
    if (list === undefined) byType.set(typeof value, [value]);
    else list.push(value);
  }
  return [...byType.values()];
}
