import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody } from '../../contracts/common.js';
import { EraseResponse, HistoryParams, HistoryQuery, HistoryResponse, UserParams } from '../../contracts/sessions.js';
import { ValidationError } from '../../domain/errors.js';
import type { ApiDeps } from '../deps.js';
import { principalOf } from '../principal.js';
import { memoryView } from '../views.js';

const DEFAULT_HISTORY_LIMIT = 100;
const MAX_HISTORY_LIMIT = 1_000;

function historyLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_HISTORY_LIMIT;
  const limit = Number(raw);
  if (limit < 1 || limit > MAX_HISTORY_LIMIT) throw new ValidationError(`limit must be from 1 to ${MAX_HISTORY_LIMIT}`);
  return limit;
}

export function sessionRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/sessions/:id/history',
      {
        schema: {
          summary: 'A session, oldest first, a page at a time',
          tags: ['sessions'],
          params: HistoryParams,
          querystring: HistoryQuery,
          response: { 200: HistoryResponse, 400: ErrorBody, 401: ErrorBody },
        },
      },
      async (request) => {
        const page = await deps.reader.history(principalOf(request), {
          sessionId: request.params.id,
          limit: historyLimit(request.query.limit),
          ...(request.query.user_id === undefined ? {} : { userId: request.query.user_id }),
          ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
        });
        return { session_id: request.params.id, items: page.items.map(memoryView), next_cursor: page.nextCursor };
      },
    );

    app.delete(
      '/users/:user_id',
      {
        schema: {
          summary: "Erase all of a user's memories from every store",
          tags: ['users'],
          params: UserParams,
          response: { 200: EraseResponse, 401: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => {
        const deleted = await deps.eraser.eraseUser(principalOf(request), request.params.user_id);
        return { user_id: request.params.user_id, deleted };
      },
    );
  };
}
