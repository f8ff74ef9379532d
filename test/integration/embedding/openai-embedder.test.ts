import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createOpenAiEmbedder, embeddingsEndpoint } from '../../../src/adapters/embedding/openai-embedder.js';
import { DependencyUnavailableError } from '../../../src/domain/errors.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { openEmbedder } from '../../../src/main/adapters.js';
import { Resources } from '../../../src/main/resources.js';
import type { Embedder } from '../../../src/ports/embedder.js';
import { freePort } from '../../support/free-port.js';
import { silentLogger } from '../../support/logger.js';
import { capturedLogger } from './captured-logger.js';
import { describeEmbedderContract } from './embedder-contract.js';
import {
  answerLikeTheRealThing,
  fakeEmbedding,
  startStandInEmbeddingServer,
  type StandInEmbeddingServer,
} from './stand-in-embedding-server.js';
import { cosine, norm } from './vector-math.js';

const DIMENSIONS = 8;
const API_KEY = 'sk-test-7f3a9c1e5b2d4f6a8c0e';

let server: StandInEmbeddingServer;
let shared: Embedder | null = null;
before(async () => {
  server = await startStandInEmbeddingServer(DIMENSIONS);
});
after(async () => {
  await shared?.close();
  await server.close();
});

const start = (extra: Partial<Parameters<typeof createOpenAiEmbedder>[0]> = {}): Promise<Embedder> =>
  createOpenAiEmbedder({
    url: server.url,
    model: 'nomic-embed-text',
    logger: silentLogger(),
    retryDelayMs: 10,
    ...extra,
  });

describeEmbedderContract('the OpenAI-compatible embedder', {
  shared: async () => {
    shared ??= await start({ dimensions: DIMENSIONS });
    return shared;
  },
  fresh: () => start({ dimensions: DIMENSIONS }),
});

describe('the OpenAI-compatible embedder', () => {
  beforeEach(() => {
    server.requests.length = 0;
    server.plan(answerLikeTheRealThing(DIMENSIONS));
  });

  it('posts {model, input} to <url>/v1/embeddings with the key as a bearer token', async () => {
    const embedder = await start({ apiKey: API_KEY, dimensions: DIMENSIONS });
    const [vector] = await embedder.embed(['hello']);
    const [request] = server.requests;
    assert.equal(server.requests.length, 1);
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/v1/embeddings');
    assert.equal(request?.headers['authorization'], `Bearer ${API_KEY}`);
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.deepEqual(request?.body, { model: 'nomic-embed-text', input: ['hello'] });
    assert.ok(vector && Math.abs(norm(vector) - 1) < 1e-6);
    assert.ok(cosine(vector, Float32Array.from(fakeEmbedding('hello', DIMENSIONS))) > 0.9999);
  });

  it('sends no Authorization header without a key', async () => {
    const embedder = await start({ dimensions: DIMENSIONS });
    await embedder.embed(['hello']);
    assert.equal(server.requests[0]?.headers['authorization'], undefined);
  });

  it('accepts a URL that already ends in /v1', async () => {
    const embedder = await start({ url: `${server.url}/v1/`, dimensions: DIMENSIONS });
    await embedder.embed(['hello']);
    assert.equal(server.requests[0]?.path, '/v1/embeddings');
    assert.equal(embeddingsEndpoint('http://tei:8080/v1').pathname, '/v1/embeddings');
    assert.equal(embeddingsEndpoint('http://vllm:8000/api/').pathname, '/api/v1/embeddings');
  });

  it('puts vectors in input order even when the service lists them out of order', async () => {
    server.plan((_request, inputs) => ({
      status: 200,
      body: { data: inputs.map((input, index) => ({ index, embedding: fakeEmbedding(input, DIMENSIONS) })).reverse() },
    }));
    const embedder = await start({ dimensions: DIMENSIONS });
    const texts = ['one', 'two', 'three'];
    const vectors = await embedder.embed(texts);
    texts.forEach((text, i) => {
      const vector = vectors[i];
      assert.ok(vector && cosine(vector, Float32Array.from(fakeEmbedding(text, DIMENSIONS))) > 0.9999, text);
    });
  });

  it('asks the service for the dimension once at start when it is not given', async () => {
    const embedder = await start();
    assert.equal(embedder.model.dimensions, DIMENSIONS);
    assert.equal(embedder.model.id, 'openai:nomic-embed-text');
    assert.equal(server.requests.length, 1);
    const withDimensions = await start({ dimensions: DIMENSIONS });
    assert.equal(withDimensions.model.dimensions, DIMENSIONS);
    assert.equal(server.requests.length, 1);
  });

  it('sends a call larger than maxBatchSize as several requests, in order', async () => {
    const embedder = await start({ dimensions: DIMENSIONS, maxBatchSize: 2 });
    const texts = ['a', 'b', 'c', 'd', 'e'];
    const vectors = await embedder.embed(texts);
    assert.deepEqual(
      server.requests.map((request) => request.body.input),
      [['a', 'b'], ['c', 'd'], ['e']],
    );
    assert.ok(vectors[4] && cosine(vectors[4], Float32Array.from(fakeEmbedding('e', DIMENSIONS))) > 0.9999);
  });

  it('retries a 500 and returns the answer of the next attempt', async () => {
    let calls = 0;
    const healthy = answerLikeTheRealThing(DIMENSIONS);
    server.plan((request, inputs) =>
      ++calls === 1 ? { status: 500, body: { error: 'overloaded' } } : healthy(request, inputs),
    );
    const embedder = await start({ dimensions: DIMENSIONS });
    const vectors = await embedder.embed(['hello']);
    assert.equal(vectors.length, 1);
    assert.equal(server.requests.length, 2);
  });

  it('gives up with dependency_unavailable after the retries', async () => {
    server.plan(() => ({ status: 503, body: {} }));
    const embedder = await start({ dimensions: DIMENSIONS, retries: 2 });
    await assert.rejects(embedder.embed(['hello']), DependencyUnavailableError);
    assert.equal(server.requests.length, 3);
  });

  it('turns a 401 into embedder_misconfigured, an outage worth waiting for, without retrying at once', async () => {
    server.plan(() => ({ status: 401, body: { error: { message: 'invalid key for input "hello"' } } }));
    const embedder = await start({ dimensions: DIMENSIONS, apiKey: 'wrong' });
    await assert.rejects(embedder.embed(['hello']), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal((error as { code?: unknown }).code, 'embedder_misconfigured');
      assert.equal((error as { kind?: unknown }).kind, 'unavailable');
      assert.deepEqual((error as { details?: unknown }).details, { dependency: 'embedder', status: 401 });
      assert.equal((error as { retryable?: unknown }).retryable, true);
      assert.doesNotMatch(error.message, /hello/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  it('turns a 400 into embedder_rejected, a refusal of the input that no retry changes', async () => {
    server.plan(() => ({ status: 400, body: { error: { message: 'cannot embed "hello"' } } }));
    const embedder = await start({ dimensions: DIMENSIONS });
    await assert.rejects(embedder.embed(['hello']), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal((error as { code?: unknown }).code, 'embedder_rejected');
      assert.deepEqual((error as { details?: unknown }).details, { status: 400 });
      assert.equal((error as { retryable?: unknown }).retryable, false);
      assert.doesNotMatch(error.message, /hello/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  it('turns a vector of the wrong dimension into embedder_bad_response', async () => {
    server.plan((_request, inputs) => ({
      status: 200,
      body: { data: inputs.map((input, index) => ({ index, embedding: fakeEmbedding(input, DIMENSIONS + 1) })) },
    }));
    const embedder = await start({ dimensions: DIMENSIONS });
    await assert.rejects(embedder.embed(['hello']), { code: 'embedder_bad_response' });
  });

  it('turns a missing embedding into embedder_bad_response', async () => {
    server.plan(() => ({ status: 200, body: { data: [] } }));
    const embedder = await start({ dimensions: DIMENSIONS });
    await assert.rejects(embedder.embed(['hello']), { code: 'embedder_bad_response' });
  });

  it('fails quickly with dependency_unavailable when nothing listens on the port', async () => {
    const port = await freePort();
    const began = performance.now();
    await assert.rejects(
      createOpenAiEmbedder({ url: `http://127.0.0.1:${port}`, model: 'm', logger: silentLogger(), retryDelayMs: 10 }),
      DependencyUnavailableError,
    );
    const embedder = await createOpenAiEmbedder({
      url: `http://127.0.0.1:${port}`,
      model: 'm',
      logger: silentLogger(),
      dimensions: DIMENSIONS,
    });
    await assert.rejects(embedder.embed(['hello']), DependencyUnavailableError);
    const tookMs = performance.now() - began;
    assert.ok(tookMs < 2_000, `took ${Math.round(tookMs)} ms`);
  });

  it('gives up on a service that does not answer within timeoutMs', async () => {
    server.plan(() => 'hang');
    const embedder = await start({ dimensions: DIMENSIONS, timeoutMs: 200, retries: 0 });
    const began = performance.now();
    await assert.rejects(embedder.embed(['hello']), DependencyUnavailableError);
    const tookMs = performance.now() - began;
    assert.ok(tookMs >= 190 && tookMs < 2_000, `took ${Math.round(tookMs)} ms`);
  });

  it('cuts each text to ENGRAM_EMBED_MAX_CHARS, 8,192 unless it says otherwise, for a server with a shorter limit', async () => {
    const logger = silentLogger();
    const sentLengths = async (env: Record<string, string>): Promise<number[]> => {
      const config = loadConfig({ ENGRAM_EMBEDDER: 'openai', ENGRAM_EMBED_URL: server.url, ENGRAM_EMBED_MODEL: 'nomic-embed-text', ...env }, { secretsDir: '/nonexistent' });
      const resources = new Resources(logger);
      try {
        const embedder = await openEmbedder(config, logger, resources, true);
        server.requests.length = 0;
        await embedder.embed(['x'.repeat(10_000), 'short']);
        const [request] = server.requests;
        const body = request?.body as { input?: string[] } | undefined;
        return (body?.input ?? []).map((input) => input.length);
      } finally {
        await resources.closeAll();
      }
    };
    assert.deepEqual(await sentLengths({ ENGRAM_EMBED_MAX_CHARS: '2000' }), [2000, 5]);
    assert.deepEqual(await sentLengths({}), [8192, 5]);
    assert.throws(() => loadConfig({ ENGRAM_EMBEDDER: 'openai', ENGRAM_EMBED_URL: server.url, ENGRAM_EMBED_MODEL: 'm', ENGRAM_EMBED_MAX_CHARS: '8' }), /ENGRAM_EMBED_MAX_CHARS/);
  });

  it('never writes the API key into a log line', async () => {
    const { logger, lines } = capturedLogger();
    let calls = 0;
    const healthy = answerLikeTheRealThing(DIMENSIONS);
    server.plan((request, inputs) => (++calls % 2 === 1 ? { status: 500, body: {} } : healthy(request, inputs)));
    const embedder = await start({ apiKey: API_KEY, logger });
    await embedder.embed(['hello', 'world']);
    server.plan(() => ({ status: 401, body: {} }));
    await assert.rejects(embedder.embed(['hello']), { code: 'embedder_misconfigured' });
    assert.ok(lines.length >= 4, `only ${lines.length} log lines`);
    assert.ok(lines.some((line) => line.includes('retrying')));
    for (const line of lines) assert.ok(!line.includes(API_KEY), line);
  });
});
