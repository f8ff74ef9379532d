import type { MetadataValue } from './memory.js';

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
