import type { Memory, MetadataValue } from './memory.js';

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';
export type SetOperator = 'in' | 'nin';

/** One condition on one top-level metadata key. Conditions of a filter all have to hold. */
export type MetadataCondition =
  | { readonly key: string; readonly op: ComparisonOperator; readonly value: MetadataValue }
  | { readonly key: string; readonly op: SetOperator; readonly value: readonly MetadataValue[] };

export interface SearchScope {
  readonly tenantId: string;
  readonly userId: string;
  readonly sessionId?: string;
  readonly metadata?: readonly MetadataCondition[];
  readonly createdAfter?: Date;
  readonly createdBefore?: Date;
}

/** Whether the scope holds all of its user's live memories: nothing narrows it past the user. */
export function isWholeUser(scope: SearchScope): boolean {
  return scope.sessionId === undefined && (scope.metadata?.length ?? 0) === 0 && scope.createdAfter === undefined && scope.createdBefore === undefined;
}

/**
 * Whether a memory of the scope's user lies within the scope's session, time bounds and metadata
 * conditions, with the meaning the stores give them (see scopeConditions): bounds are exclusive,
 * a missing key is neither equal to nor in anything, and ranges compare numbers only.
 */
export function isWithinScope(memory: Pick<Memory, 'sessionId' | 'createdAt' | 'metadata'>, scope: SearchScope): boolean {
  if (scope.sessionId !== undefined && memory.sessionId !== scope.sessionId) return false;
  const createdAt = memory.createdAt.getTime();
  if (scope.createdAfter !== undefined && !(createdAt > scope.createdAfter.getTime())) return false;
  if (scope.createdBefore !== undefined && !(createdAt < scope.createdBefore.getTime())) return false;
  return (scope.metadata ?? []).every((condition) => meetsCondition(Object.hasOwn(memory.metadata, condition.key) ? memory.metadata[condition.key] : undefined, condition));
}

function meetsCondition(value: MetadataValue | undefined, condition: MetadataCondition): boolean {
  switch (condition.op) {
    case 'eq':
      return value === condition.value;
    case 'ne':
      return value !== condition.value;
    case 'in':
      return value !== undefined && condition.value.includes(value);
    case 'nin':
      return value === undefined || !condition.value.includes(value);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return typeof value === 'number' && typeof condition.value === 'number' && inRange(value, condition.op, condition.value);
  }
}

function inRange(value: number, op: 'gt' | 'gte' | 'lt' | 'lte', bound: number): boolean {
  if (op === 'gt') return value > bound;
  if (op === 'gte') return value >= bound;
  if (op === 'lt') return value < bound;
  return value <= bound;
}
