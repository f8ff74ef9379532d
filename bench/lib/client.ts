/** The benchmark's HTTP client of Engram, and a tracker of write tasks until they are done. */
import { JsonHttp, type JsonAnswer } from './json-http.js';
import { sleep } from './stats.js';

/** The pause before reading a job again that was still open. */
export const POLL_PAUSE_MS = 50;

export class EngramClient {
  readonly #http: JsonHttp;

  constructor(readonly url: string, apiKey: string) {
    this.#http = new JsonHttp(url, { 'x-api-key': apiKey });
  }

  post<T>(path: string, body: unknown): Promise<JsonAnswer<T>> {
    return this.#http.request<T>('POST', path, body);
  }

  get<T>(path: string): Promise<JsonAnswer<T>> {
    return this.#http.request<T>('GET', path);
  }

  close(): void {
    this.#http.close();
  }
}

export interface AcceptedItem {
  readonly id: string;
  readonly task_id: string;
}

/**
 * Follows write tasks until they are completed or failed. The worker finishes the tasks of one
 * job together, so following one task per job (its last) is exact and costs few requests. Jobs
 * finish about in the order they were sent: while the oldest ones read are finished, the next
 * ones are read at once, and the follower pauses only at the first one still open. Pausing after
 * every 8 jobs read capped the rate it could see at about 145 jobs a second (single writes are a
 * job each), whatever the worker's pace.
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

  /** Checks the oldest waiting jobs once; true when each of them had finished, so the next may have too. */
  async poll(parallel = 8): Promise<boolean> {
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
    return batch.length > 0 && finished.every((status) => status !== null);
  }

  async drain(onProgress?: () => void): Promise<void> {
    while (this.#waiting.length > 0) {
      const caughtUp = await this.poll();
      onProgress?.();
      if (!caughtUp) await sleep(POLL_PAUSE_MS);
    }
  }
}
