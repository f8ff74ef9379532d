import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/api-key.js';
import { UnauthenticatedError } from '../domain/errors.js';
import type { ApiKeyService } from '../services/api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Requires a valid X-API-Key on every route registered in this scope. */
export function requireApiKey(app: FastifyInstance, apiKeys: ApiKeyService): void {
  app.addHook('onRequest', async (request) => {
    const header = request.headers['x-api-key'];
    request.principal = await apiKeys.authenticate(Array.isArray(header) ? header[0] : header);
  });
}

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new UnauthenticatedError();
  return request.principal;
}
