import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody } from '../../contracts/common.js';
import { SearchBody, SearchResponse, type MetadataFilters } from '../../contracts/search.js';
import type { MetadataCondition } from '../../domain/filters.js';
import type { MetadataValue } from '../../domain/memory.js';
import { parseExclusiveUpperBound, parseStorableTime } from '../../domain/times.js';
import type { ApiDeps } from '../deps.js';
import { principalOf } from '../principal.js';
import { memoryView } from '../views.js';

const OPERATORS = {
  $eq: 'eq',
  $ne: 'ne',
  $gt: 'gt',
  $gte: 'gte',
  $lt: 'lt',
  $lte: 'lte',
  $in: 'in',
  $nin: 'nin',
} as const;

function isOperator(name: string): name is keyof typeof OPERATORS {
  return Object.hasOwn(OPERATORS, name);
}

/** `{"year": {"$gte": 2020}, "topic": "pets"}` → one condition per operator, all of which must hold. */
export function toConditions(filters: MetadataFilters): MetadataCondition[] {
  const conditions: MetadataCondition[] = [];
  for (const [key, filter] of Object.entries(filters)) {
    if (typeof filter !== 'object') {
      conditions.push({ key, op: 'eq', value: filter });
      continue;
    }
    for (const [name, value] of Object.entries(filter)) {
      if (!isOperator(name) || value === undefined) continue;
      const op = OPERATORS[name];
      if (op === 'in' || op === 'nin') conditions.push({ key, op, value: value as MetadataValue[] });
      else conditions.push({ key, op, value: value as MetadataValue });
    }
  }
  return conditions;
}

export function searchRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/memory/search',
      {
        schema: {
          summary: "Find a user's memories that answer a query, by meaning and by words",
          tags: ['search'],
          body: SearchBody,
          response: { 200: SearchResponse, 400: ErrorBody, 401: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => {
        const body = request.body;
        const results = await deps.search.search(principalOf(request), {
          query: body.query,
          userId: body.user_id,
          topK: body.top_k ?? 10,
          ...(body.session_id === undefined ? {} : { sessionId: body.session_id }),
          ...(body.filters === undefined ? {} : { filters: toConditions(body.filters) }),
          ...(body.min_score === undefined ? {} : { minScore: body.min_score }),
          ...(body.created_after === undefined ? {} : { createdAfter: parseStorableTime(body.created_after, 'created_after') }),
          ...(body.created_before === undefined ? {} : { createdBefore: parseExclusiveUpperBound(body.created_before, 'created_before') }),
          context: body.context ?? 0,
        });
        deps.metrics.searches.inc();
        return {
          results: results.map(({ memory, score, similarity, context }) => ({
            ...memoryView(memory),
            score,
            similarity,
            ...(body.context === undefined || body.context === 0
              ? {}
              : { context: context.map((turn) => ({ ...memoryView(turn.memory), offset: turn.offset })) }),
          })),
        };
      },
    );
  };
}
