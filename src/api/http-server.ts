import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Fastify's own default: longer than the idle timeout of the usual load balancers (60 s). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** Node's own default for a request's headers, kept when the whole request may take longer. */
const HEADERS_TIMEOUT_MS = 60_000;
/** How often Node looks for requests past their time: at most this late, and at most a quarter late. */
const MAX_CHECK_INTERVAL_MS = 30_000;

/**
 * The HTTP server the API listens on. A request whose headers and body have not all arrived within
 * `requestTimeoutMs` (0: no limit) is answered 408 and its connection closed, so a client that
 * sends slowly, or stops halfway, cannot hold one of the requests in flight for good.
 */
export function createHttpServer(handler: RequestListener, requestTimeoutMs: number): Server {
  const limited = requestTimeoutMs > 0;
  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: limited ? Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs) : HEADERS_TIMEOUT_MS,
      ...(limited ? { connectionsCheckingInterval: Math.min(MAX_CHECK_INTERVAL_MS, Math.max(50, Math.floor(requestTimeoutMs / 4))) } : {}),
    },
    handler,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  return server;
}

/** What a request that failed before it reached the API is answered, by Node's code for it. */
const CLIENT_ERRORS: Readonly<Record<string, { readonly status: number; readonly code: string; readonly message: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'the request headers are too large' },
};
const MALFORMED = { status: 400, code: 'malformed_request', message: 'the request is not valid HTTP' };

/**
 * Answers a request that failed before the API saw it (too slow, headers too large, not HTTP) with
 * the API's error body, then closes its connection; as Fastify's own handler does, with our codes.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { status, code, message } = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED;
    const body = JSON.stringify({ error: { code, message } });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
