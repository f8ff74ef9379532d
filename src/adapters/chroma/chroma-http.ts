import { DependencyUnavailableError } from '../../domain/errors.js';
import { VectorStoreError } from './errors.js';

export interface ChromaHttpOptions {
  /** Base URL of the Chroma server, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  /** Time allowed for one request, response body included. */
  readonly requestTimeoutMs: number;
}

export interface ChromaRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path below `/api/v2`. */
  readonly path: string;
  /** A JSON value, or a JSON text already encoded. */
  readonly body?: unknown;
}

/** Statuses that mean the server (or a proxy before it) cannot serve now, not that we asked wrong. */
const unavailableStatuses = new Set([502, 503, 504]);

/**
 * Chroma's v2 HTTP API over the global fetch, which keeps connections alive. It turns transport
 * failures and timeouts into DependencyUnavailableError('chroma') and refusals into VectorStoreError.
 */
export class ChromaHttp {
  readonly #baseUrl: string;
  readonly #requestTimeoutMs: number;

  constructor(options: ChromaHttpOptions) {
    this.#baseUrl = `${options.url.replace(/\/+$/, '')}/api/v2`;
    this.#requestTimeoutMs = options.requestTimeoutMs;
  }

  /** The parsed JSON answer. */
  async send(request: ChromaRequest): Promise<unknown> {
    const answer = await this.sendUnlessMissing(request);
    if (answer === null) throw new VectorStoreError(`chroma found nothing at ${request.path}`, { status: 404 });
    return answer;
  }

  /** The parsed JSON answer, or null when Chroma answers 404 (an unknown collection). */
  async sendUnlessMissing(request: ChromaRequest): Promise<unknown> {
    let text: string;
    let status: number;
    try {
      const response = await fetch(`${this.#baseUrl}${request.path}`, {
        method: request.method,
        headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
        body: encodeBody(request.body),
        signal: AbortSignal.timeout(this.#requestTimeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new DependencyUnavailableError('chroma', error);
    }
    if (status >= 200 && status < 300) return parseJson(text, status);
    if (status === 404) return null;
    if (unavailableStatuses.has(status)) throw new DependencyUnavailableError('chroma', new Error(`HTTP ${status}`));
    const refusal = describeRefusal(text);
    throw new VectorStoreError(`chroma refused ${request.method} ${request.path}: ${refusal.message}`, {
      status,
      details: refusal,
    });
  }
}

function encodeBody(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  return typeof body === 'string' ? body : JSON.stringify(body);
}

function parseJson(text: string, status: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new VectorStoreError('chroma answered with something that is not JSON', { status, cause });
  }
}

function describeRefusal(text: string): { error: string; message: string } {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const { error, message } = parsed as Record<string, unknown>;
      return { error: String(error ?? 'unknown'), message: String(message ?? text) };
    }
  } catch {
    // not JSON: report the raw text below
  }
  return { error: 'unknown', message: text.slice(0, 500) };
}
