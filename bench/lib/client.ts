/** The benchmark's HTTP client of Engram, and a tracker of write tasks until they are done. */
import { sleep } from './stats.js';

export class EngramClient {
  constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  async post<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': this.apiKey },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  async get<T>(path: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, { headers: { 'x-api-key': this.apiKey } });
    return { status: response.status, body: (await response.json()) as T };
  }
}

export interface AcceptedItem {
  readonly id: string;
  readonly task_id: string;
}

/**
 * Follows write tasks until they are completed or failed. The worker finishes the tasks of one
 * job together, so following one task per job (its last) is exact and costs few requests.
 */
export class TaskTracker {
  readonly #waiting: Array<{ taskId: string; weight: number }> = [];
  done = 0;
  failed = 0;
  lastDoneAt = 0;

  constructor(private readonly client: EngramClient) {}

  /** Tasks of one request, in the order the API returned them; `perJob` as the API groups them. */
  add(taskIds: readonly string[], perJob: number): void {
    for (let start = 0; start < taskIds.length; start += perJob) {
      const job = taskIds.slice(start, start + perJob);
      this.#waiting.push({ taskId: job[job.length - 1] as string, weight: job.length });
    }
  }

  get pending(): number {
    return this.#waiting.reduce((sum, entry) => sum + entry.weight, 0);
  }

  /** Checks the oldest waiting jobs once. */
  async poll(parallel = 8): Promise<void> {
    const batch = this.#waiting.slice(0, parallel);
    const finished = await Promise.all(
      batch.map(async (entry) => {
        const { body } = await this.client.get<{ status: string }>(`/tasks/${entry.taskId}`);
        return body.status === 'completed' || body.status === 'failed' ? body.status : null;
      }),
    );
    finished.forEach((status, index) => {
      const entry = batch[index];
      if (status === null || entry === undefined) return;
      this.#waiting.splice(this.#waiting.indexOf(entry), 1);
      this.done += entry.weight;
      if (status === 'failed') this.failed += entry.weight;
      this.lastDoneAt = performance.now();
    });
  }

  async drain(onProgress?: () => void): Promise<void> {
    while (this.#waiting.length > 0) {
      await this.poll();
      onProgress?.();
      if (this.#waiting.length > 0) await sleep(50);
    }
  }
}
