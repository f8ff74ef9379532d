/**
 * JSON over Node's HTTP client with kept-alive connections. The benchmark shares the machine with
 * Engram and Chroma, and this client spends about a third of the CPU of the global fetch on each
 * request, so less of the measurement is the benchmark's own work.
 */
import http from 'node:http';

export interface JsonAnswer<T> {
  readonly status: number;
  readonly body: T;
}

export class JsonHttp {
  readonly #agent = new http.Agent({ keepAlive: true });

  constructor(
    private readonly baseUrl: string,
    private readonly headers: Readonly<Record<string, string>> = {},
  ) {}

  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonAnswer<T>> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { ...this.headers };
    if (text !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(text);
    }
    return new Promise((resolve, reject) => {
      const outgoing = http.request(`${this.baseUrl}${path}`, { method, headers, agent: this.#agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      });
      outgoing.on('error', reject);
      outgoing.end(text);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
