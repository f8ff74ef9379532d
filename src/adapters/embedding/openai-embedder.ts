import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyUnavailableError, isDomainError, ValidationError } from '../../domain/errors.js';
import type { Embedder } from '../../ports/embedder.js';
import type { Logger } from '../../ports/logger.js';
import { EmbedderBadResponseError, EmbedderMisconfiguredError, EmbedderRejectedError, INPUT_REFUSAL_STATUSES } from './errors.js';
import { parseEmbeddingsResponse } from './openai-response.js';
import { prepareText } from './text-limits.js';

export interface OpenAiEmbedderOptions {
  /**
   * Base URL of any service that speaks OpenAI's `/v1/embeddings` (Ollama, vLLM, TEI, OpenAI),
   * with or without the trailing `/v1`, e.g. `http://127.0.0.1:11434`.
   */
  readonly url: string;
  /** The model name the service knows, e.g. `nomic-embed-text`. */
  readonly model: string;
  /** Sent as `Authorization: Bearer …` when given; never logged. */
  readonly apiKey?: string;
  readonly logger: Logger;
  /** Dimensions of the model's vectors. When absent, one call at start asks the model. */
  readonly dimensions?: number;
  /** How long one attempt may take, in ms. Default 10,000. */
  readonly timeoutMs?: number;
  /** Most texts in one request; larger calls are sent as several requests in turn. Default 128. */
  readonly maxBatchSize?: number;
  /** Further attempts after a 5xx, 408, 429, timeout or connection error. Default 2. */
  readonly retries?: number;
  /** Wait before the first retry, in ms, doubled for each further one. Default 250. */
  readonly retryDelayMs?: number;
  /**
   * Longest text, in UTF-16 code units, that is sent; the rest is cut, so that a long memory
   * does not fail for good on a model's input limit. Default 8,192.
   */
  readonly maxTextChars?: number;
}

/**
 * An embedder backed by an OpenAI-compatible HTTP service. Resolves once the service has
 * answered (the dimension probe) or straight away when `dimensions` is given.
 */
export async function createOpenAiEmbedder(options: OpenAiEmbedderOptions): Promise<Embedder> {
  const { logger } = options;
  const endpoint = embeddingsEndpoint(options.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBatchSize = options.maxBatchSize ?? 128;
  const retries = options.retries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 250;
  const maxTextChars = options.maxTextChars ?? 8192;
  const id = `openai:${options.model}`;
  // the key goes only into this header object, which nothing logs
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey !== undefined && options.apiKey !== '') headers['authorization'] = `Bearer ${options.apiKey}`;
  const where = `${endpoint.origin}${endpoint.pathname}`;

  const attempt = async (texts: readonly string[], dimensions: number | null): Promise<Float32Array[]> => {
    let response: Response;
    let text: string;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: options.model, input: texts }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw unavailable(fetchFailureReason(error), error);
    }
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      throw unavailable(`status ${response.status}`);
    }
    if (INPUT_REFUSAL_STATUSES.has(response.status)) throw new EmbedderRejectedError(response.status);
    if (!response.ok) throw new EmbedderMisconfiguredError(response.status);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new EmbedderBadResponseError('the body is not JSON');
    }
    return parseEmbeddingsResponse(body, texts.length, dimensions);
  };

  const request = async (texts: readonly string[], dimensions: number | null): Promise<Float32Array[]> => {
    for (let tried = 0; ; tried++) {
      const began = performance.now();
      try {
        const vectors = await attempt(texts, dimensions);
        logger.debug({ texts: texts.length, ms: Math.round(performance.now() - began) }, 'embedded a batch');
        return vectors;
      } catch (error) {
        // A misconfiguration stays until an operator fixes it: asking again at once cannot help.
        const worthRetrying = isDomainError(error) && error.retryable && !(error instanceof EmbedderMisconfiguredError);
        if (!worthRetrying || tried >= retries) throw error;
        const delayMs = retryDelayMs * 2 ** tried;
        logger.warn(
          { endpoint: where, attempt: tried + 1, reason: reasonOf(error), delayMs },
          'embedder call failed; retrying',
        );
        await sleep(delayMs);
      }
    }
  };

  const dimensions = options.dimensions ?? (await request(['dimension probe'], null))[0]?.length;
  if (dimensions === undefined || !Number.isInteger(dimensions) || dimensions < 1) {
    throw new EmbedderBadResponseError('no usable dimension');
  }
  logger.info({ model: id, endpoint: where, dimensions }, 'embedding service ready');

  let closed = false;
  return {
    model: { id, dimensions },
    async embed(texts) {
      if (closed) throw new DependencyUnavailableError('embedder', new Error('closed'));
      const prepared = texts.map((text) => prepareText(text, maxTextChars));
      const vectors: Float32Array[] = [];
      // one request at a time: a large batch should not crowd out the service's other callers
      for (let start = 0; start < prepared.length; start += maxBatchSize) {
        vectors.push(...(await request(prepared.slice(start, start + maxBatchSize), dimensions)));
      }
      return vectors;
    },
    async close() {
      closed = true;
    },
  };
}

/** `<url>/v1/embeddings`, whether or not the given URL already ends in `/v1`. */
export function embeddingsEndpoint(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError('the embedding service URL is not a valid URL');
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  if (path.endsWith('/v1/embeddings')) parsed.pathname = path;
  else if (path.endsWith('/v1')) parsed.pathname = `${path}/embeddings`;
  else parsed.pathname = `${path}/v1/embeddings`;
  return parsed;
}

/** A service failure worth retrying; the reason is short and free of secrets and input text. */
function unavailable(reason: string, cause?: unknown): DependencyUnavailableError {
  return new DependencyUnavailableError('embedder', new Error(reason, cause === undefined ? undefined : { cause }));
}

function fetchFailureReason(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timeout';
  // fetch hides the socket's error code (ECONNREFUSED, ECONNRESET, …) one level down
  const socketError = error instanceof Error ? error.cause : undefined;
  const code = socketError instanceof Error ? (socketError as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'connection failed';
}

function reasonOf(error: unknown): string {
  return error instanceof Error && error.cause instanceof Error ? error.cause.message : 'unknown';
}
