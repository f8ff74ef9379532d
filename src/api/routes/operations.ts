import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ApiDeps } from '../deps.js';
import { RETRY_AFTER_SECONDS } from '../errors.js';

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  dependencies: Type.Record(Type.String(), Type.Union([Type.Literal('up'), Type.Literal('down')])),
});

/** Liveness and readiness: no API key, nothing about users. */
export function operationRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      { schema: { summary: 'The process is alive', tags: ['operations'], security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      { schema: { summary: "Each dependency's state", tags: ['operations'], security: [], response: { 200: Readiness, 503: Readiness } } },
      async (_request, reply) => {
        const readiness = await deps.health.readiness();
        if (!readiness.ready) void reply.status(503).header('retry-after', String(RETRY_AFTER_SECONDS));
        return { status: readiness.ready ? ('ready' as const) : ('unavailable' as const), dependencies: readiness.dependencies };
      },
    );
  };
}
