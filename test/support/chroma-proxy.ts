import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { freePort } from './free-port.js';

/** An answer the proxy gives in Chroma's place. */
export interface ProxyAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A proxy on a free loopback port before a Chroma server. */
export interface ChromaProxy {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Forwards every request to the Chroma at `chromaUrl`, except those that `answer` answers itself
 * (it returns null for the rest), each after the delay `delayMs` gives it (none by default).
 */
export async function startChromaProxy(
  chromaUrl: string,
  answer: (request: IncomingMessage) => ProxyAnswer | null,
  delayMs: (request: IncomingMessage) => number = () => 0,
): Promise<ChromaProxy> {
  const proxy = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const own = answer(request);
      if (own !== null) {
        response.writeHead(own.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(own.body));
        return;
      }
      const forward = (): void => {
        const forwarded = httpRequest(`${chromaUrl}${request.url ?? ''}`, { method: request.method, headers: request.headers }, (reply) => {
          response.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(response);
        });
        forwarded.end(Buffer.concat(chunks));
      };
      const delay = delayMs(request);
      if (delay > 0) setTimeout(forward, delay);
      else forward();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

/** A request as it reached a proxy: when, and its method and last path segment (`POST add`). */
export interface Arrival {
  readonly at: number;
  readonly request: string;
}

/** A proxy that notes every request it forwards, each after the delay `delayMs` gives it. */
export async function startNotingProxy(
  chromaUrl: string,
  delayMs: (request: IncomingMessage) => number = () => 0,
): Promise<{ readonly proxy: ChromaProxy; readonly arrivals: Arrival[] }> {
  const arrivals: Arrival[] = [];
  const proxy = await startChromaProxy(
    chromaUrl,
    (request) => {
      arrivals.push({ at: performance.now(), request: `${request.method ?? ''} ${request.url?.split('/').pop() ?? ''}` });
      return null;
    },
    delayMs,
  );
  return { proxy, arrivals };
}

/** The time from the first `request` among `arrivals` to the request after it, in ms. */
export function msToNextRequest(arrivals: readonly Arrival[], request: string): number {
  const index = arrivals.findIndex((arrival) => arrival.request === request);
  const [first, next] = [arrivals[index], arrivals[index + 1]];
  if (index < 0 || first === undefined || next === undefined) {
    throw new Error(`no request after a ${request} among ${arrivals.map((arrival) => arrival.request).join(', ')}`);
  }
  return next.at - first.at;
}
