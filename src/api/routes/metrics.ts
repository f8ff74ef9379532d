import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiDeps } from '../deps.js';

/**
 * Prometheus metrics of the whole node (requests by route and status, the write backlog, the
 * dependencies' stops), behind a key as every endpoint but health and the docs: they hold no user's
 * data, but what they tell of the traffic is not for anyone who can reach the port.
 */
export function metricsRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_request, reply) => {
      const body = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(body);
    });
  };
}
