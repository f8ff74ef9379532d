import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from '../../support/free-port.js';

/** One request the stand-in received. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: { model?: unknown; input?: unknown };
}

/** What the stand-in does with a request: answer it, or never answer (to test timeouts). */
export type Reply = { readonly status: number; readonly body: unknown } | 'hang';
export type ReplyPlan = (request: ReceivedRequest, inputs: string[]) => Reply;

/**
 * A tiny OpenAI-compatible `/v1/embeddings` service on a free loopback port, standing in for the
 * remote API that tests cannot reach. By default it answers like the real thing, with
 * deterministic vectors that are not unit length (so callers must normalise).
 */
export interface StandInEmbeddingServer {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Replaces how the next requests are answered. */
  plan(next: ReplyPlan): void;
  close(): Promise<void>;
}

export function fakeEmbedding(text: string, dimensions: number): number[] {
  const digest = createHash('sha256').update(text).digest();
  return Array.from({ length: dimensions }, (_, i) => ((digest[i % digest.length] ?? 0) - 127.5) * (1 + (i % 3)));
}

export function answerLikeTheRealThing(dimensions: number): ReplyPlan {
  return (_request, inputs) => ({
    status: 200,
    body: {
      object: 'list',
      data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(input, dimensions) })),
      model: 'stand-in',
    },
  });
}

export async function startStandInEmbeddingServer(dimensions = 8): Promise<StandInEmbeddingServer> {
  const requests: ReceivedRequest[] = [];
  let plan: ReplyPlan = answerLikeTheRealThing(dimensions);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as ReceivedRequest['body'];
      const received: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(received);
      const inputs = Array.isArray(body.input) ? body.input.map(String) : [];
      const reply = plan(received, inputs);
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    plan(next) {
      plan = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
