/** A tiny JSON client for tests that talk to Engram over HTTP, as a user would. */
export interface JsonResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export class EngramClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string | null,
  ) {}

  withKey(apiKey: string | null): EngramClient {
    return new EngramClient(this.baseUrl, apiKey);
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<JsonResponse<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.apiKey === null ? {} : { 'x-api-key': this.apiKey }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed: unknown = text === '' ? {} : response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : { raw: text };
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  /** Polls a task until it completes or fails. */
  async waitForTask(taskId: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await this.request<{ status: string }>('GET', `/tasks/${taskId}`);
      if (body.status === 'completed' || body.status === 'failed') return body.status;
      if (Date.now() > deadline) throw new Error(`task ${taskId} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
