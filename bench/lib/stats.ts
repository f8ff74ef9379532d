/** Small measuring helpers of the benchmark. */
import { readFileSync } from 'node:fs';

/** The nearest-rank percentile: the smallest value that at least p% of the values do not exceed. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

export interface Latencies {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly count: number;
}

export function latencies(values: readonly number[]): Latencies {
  return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), count: values.length };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A one-line progress bar on stderr, redrawn at most every 200 ms. */
export class ProgressBar {
  readonly #label: string;
  readonly #total: number;
  readonly #began = performance.now();
  #drawnAt = 0;

  constructor(label: string, total: number) {
    this.#label = label;
    this.#total = total;
  }

  update(done: number): void {
    const now = performance.now();
    if (now - this.#drawnAt < 200 && done < this.#total) return;
    this.#drawnAt = now;
    const width = 30;
    const filled = Math.round((Math.min(done, this.#total) / this.#total) * width);
    const rate = done / Math.max(0.001, (now - this.#began) / 1000);
    const eta = rate > 0 ? Math.max(0, (this.#total - done) / rate) : 0;
    process.stderr.write(
      `\r${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.#total} ${rate.toFixed(0)}/s eta ${eta.toFixed(0)}s `,
    );
  }

  finish(): void {
    process.stderr.write('\n');
  }
}

/** Resident memory of a process, from /proc. */
export function rssBytes(pid: number): number {
  try {
    // Read synchronously: one small file.
    const status = readStatus(pid);
    const line = status.split('\n').find((entry) => entry.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function readStatus(pid: number): string {
  return readFileSync(`/proc/${pid}/status`, 'utf8');
}
