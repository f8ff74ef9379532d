import http from 'node:http';
import https from 'node:https';
import { DependencyUnavailableError } from '../../domain/errors.js';
import { VectorStoreError } from './errors.js';

export interface ChromaHttpOptions {
  /** Base URL of the Chroma server, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  /** Time allowed for one request, response body included. */
  readonly requestTimeoutMs: number;
}

export interface ChromaRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below `/api/v2`. */
  readonly path: string;
  /** A JSON value, or a JSON text already encoded. */
  readonly body?: unknown;
}

interface RawAnswer {
  readonly status: number;
  readonly text: string;
}

/**
 * Statuses that mean the server (or a proxy before it) cannot serve now, not that we asked wrong:
 * Chroma answers 429 when it runs out of a resource for a while (its database's connections, say).
 */
const unavailableStatuses = new Set([408, 425, 429, 502, 503, 504]);

/**
 * Chroma's v2 HTTP API over Node's own HTTP client with connections kept alive: a search makes one
 * request, and this client spends about a third of the CPU of the global fetch on it. It turns
 * transport failures and timeouts into DependencyUnavailableError('chroma') and refusals into
 * VectorStoreError.
 */
export class ChromaHttp {
  readonly #baseUrl: URL;
  readonly #requestTimeoutMs: number;
  readonly #transport: typeof http | typeof https;
  readonly #agent: http.Agent;

  constructor(options: ChromaHttpOptions) {
    this.#baseUrl = new URL(`${options.url.replace(/\/+$/, '')}/api/v2`);
    this.#requestTimeoutMs = options.requestTimeoutMs;
    const secure = this.#baseUrl.protocol === 'https:';
    this.#transport = secure ? https : http;
    this.#agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** The parsed JSON answer. */
  async send(request: ChromaRequest): Promise<unknown> {
    const answer = await this.sendUnlessMissing(request);
    if (answer === null) throw new VectorStoreError(`chroma found nothing at ${request.path}`, { status: 404 });
    return answer;
  }

  /** The parsed JSON answer, or null when Chroma answers 404 (an unknown collection). */
  async sendUnlessMissing(request: ChromaRequest): Promise<unknown> {
    let answer: RawAnswer;
    try {
      answer = await this.#exchange(request.method, request.path, encodeBody(request.body));
    } catch (error) {
      throw new DependencyUnavailableError('chroma', error);
    }
    const { status, text } = answer;
    if (status >= 200 && status < 300) return parseJson(text, status);
    if (status === 404) return null;
    if (unavailableStatuses.has(status)) throw new DependencyUnavailableError('chroma', new Error(`HTTP ${status}`));
    const refusal = describeRefusal(text);
    throw new VectorStoreError(`chroma refused ${request.method} ${request.path}: ${refusal.message}`, {
      status,
      details: refusal,
    });
  }

  /** Closes the connections kept for later requests. */
  close(): void {
    this.#agent.destroy();
  }

  #exchange(method: ChromaRequest['method'], path: string, body: string | undefined): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders =
        body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const outgoing = this.#transport.request(
        `${this.#baseUrl.href}${path}`,
        { method, headers, agent: this.#agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            clearTimeout(timer);
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          response.on('error', fail);
          response.on('close', () => {
            if (!response.complete) fail(new Error('the connection closed before the answer was complete'));
          });
        },
      );
      const timer = setTimeout(() => {
        outgoing.destroy(new Error(`no complete answer within ${this.#requestTimeoutMs} ms`));
      }, this.#requestTimeoutMs);
      function fail(error: Error): void {
        clearTimeout(timer);
        reject(error);
      }
      outgoing.on('error', fail);
      outgoing.end(body);
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
