import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyRequest } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import type { ApiDeps, ApiOptions } from './deps.js';
import { sendError } from './errors.js';
import { answerClientError, createHttpServer } from './http-server.js';
import { assertSafeJson } from './input-guard.js';
import { LoadShedder } from './load-shedding.js';
import { requireApiKey, type RefusedKeyCounter } from './principal.js';
import { memoryRoutes } from './routes/memory.js';
import { metricsRoutes } from './routes/metrics.js';
import { operationRoutes } from './routes/operations.js';
import { searchRoutes } from './routes/search.js';
import { sessionRoutes } from './routes/sessions.js';
import { taskRoutes } from './routes/tasks.js';

/** Routes without a key, never rate limited or shed: a probe must see the node as it is. */
const OPEN_ROUTES = new Set(['/healthz', '/readyz']);
/** Not shed when the node is full, so that a scrape still shows what fills it. */
const NEVER_SHED = new Set([...OPEN_ROUTES, '/metrics']);

/** Methods whose requests carry no body here. */
const BODILESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/** Rate limits count per API key (hashed, so the key is never held as a map key) or per address. */
function rateLimitKey(request: FastifyRequest): string {
  const header = request.headers['x-api-key'];
  const key = Array.isArray(header) ? header[0] : header;
  return key === undefined ? `ip:${request.ip}` : `key:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`;
}

/**
 * The HTTP API as a Fastify instance that knows no port and no signal: the composition root
 * listens and shuts down, tests call `inject`.
 */
export async function buildApp(deps: ApiDeps, options: ApiOptions) {
  const requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
  const app = Fastify({
    serverFactory: (handler) => createHttpServer(handler, requestTimeoutMs),
    clientErrorHandler: answerClientError,
    loggerInstance: deps.logger,
    bodyLimit: options.bodyLimitBytes,
    genReqId: () => randomUUID(),
    // Per-request lines would log at the rate of traffic; metrics cover requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    // An id of 128 characters (see IDENTIFIER_PATTERN), each percent-encoded in at most three.
    routerOptions: { maxParamLength: 384 },
    // Requests the router refuses before any route (a bad percent-encoding) get the API's errors.
    frameworkErrors: (error, request, reply) => sendError(error, request, reply),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // A client that sends `content-type: application/json` on every request (a session's default)
  // sends it on a DELETE or a GET without a body too: no body there is not invalid JSON.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' && BODILESS_METHODS.has(request.method)) done(null, undefined);
    else parseJson(request, typeof body === 'string' ? body : body.toString('utf8'), done);
  });

  app.decorateRequest('principal', null);
  // First of the request hooks: a request over the cap costs nothing more.
  const shedder = new LoadShedder(options.maxInFlightRequests ?? 1_024, NEVER_SHED);
  app.addHook('onRequest', async (request) => shedder.admit(request));
  app.addHook('onResponse', async (request) => shedder.release(request));
  app.addHook('onRequestAbort', async (request) => shedder.release(request));
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send({ error: { code: 'route_not_found', message: 'no such endpoint' } }),
  );
  app.addHook('preValidation', async (request) => {
    if (request.body !== undefined) assertSafeJson(request.body);
  });
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.httpDuration
      .labels(request.routeOptions.url ?? 'unknown', request.method, String(reply.statusCode))
      .observe(reply.elapsedTime / 1000);
  });

  // The docs are served over plain HTTP on a private network too: upgrading their requests to
  // HTTPS there would leave the page blank.
  await app.register(helmet, { global: true, contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  if (options.corsOrigins.length > 0) await app.register(cors, { origin: [...options.corsOrigins] });
  await app.register(rateLimit, {
    global: false,
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: rateLimitKey,
    allowList: (request) => OPEN_ROUTES.has(request.routeOptions.url ?? ''),
  });
  // A hook of the whole app, so it runs before the tenant routes' key check: a request whose key
  // is refused, or that has none, is counted too (the plugin's own per-route hooks run after it).
  app.addHook('onRequest', app.rateLimit());
  const refusedKeys = app.createRateLimit({ keyGenerator: (request) => `refused:${request.ip}` });
  const countRefusal: RefusedKeyCounter = async (request) => {
    const limit = await refusedKeys(request);
    if (limit.isAllowed) return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: !limit.isExceeded, retryAfterSeconds: Math.max(1, limit.ttlInSeconds) };
  };
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Engram',
        description: 'A memory layer for LLM applications: per-user chat history and facts, searched by meaning.',
        version: '0.1.0',
      },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(operationRoutes(deps));
  await app.register(async (tenantScope) => {
    // A tenant's data answers the same URL differently for each key: no cache may keep it.
    tenantScope.addHook('onSend', async (_request, reply) => void reply.header('cache-control', 'no-store'));
    requireApiKey(tenantScope, deps.apiKeys, countRefusal);
    await tenantScope.register(memoryRoutes(deps, options.bodyLimitBytes * 4));
    await tenantScope.register(searchRoutes(deps));
    await tenantScope.register(sessionRoutes(deps));
    await tenantScope.register(taskRoutes(deps));
    await tenantScope.register(metricsRoutes(deps));
  });
  return app;
}

export type EngramApp = Awaited<ReturnType<typeof buildApp>>;
