import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/api-key.js';
import { RateLimitedError, UnauthenticatedError } from '../domain/errors.js';
import type { ApiKeyService } from '../services/api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * Counts a request whose key was refused against its address; answers whether it may still be
 * told so (false: the address has failed too often in the window, seconds to wait given).
 */
export type RefusedKeyCounter = (request: FastifyRequest) => Promise<{ readonly allowed: boolean; readonly retryAfterSeconds: number }>;

/**
 * Requires a valid X-API-Key on every route registered in this scope. An address that keeps
 * presenting refused keys (each new one would start a count of its own) is limited as a whole.
 */
export function requireApiKey(app: FastifyInstance, apiKeys: ApiKeyService, countRefusal: RefusedKeyCounter): void {
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers['x-api-key'];
    try {
      request.principal = await apiKeys.authenticate(Array.isArray(header) ? header[0] : header);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      const refusal = await countRefusal(request);
      if (refusal.allowed) throw error;
      void reply.header('retry-after', String(refusal.retryAfterSeconds));
      throw new RateLimitedError('too many requests with a refused key from this address; slow down');
    }
  });
}

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new UnauthenticatedError();
  return request.principal;
}
