/**
 * Holds Engram under a steady load and reports, minute by minute, errors, latency and memory.
 *
 *   npm run soak -- --minutes N [--writes-per-second 100] [--searches-per-second 50]
 *                   [--distributed | --url URL --key KEY] [--json FILE]
 *
 * By default it starts `engram start` (embedded) in a temporary folder; `--distributed` starts a
 * Postgres database, a Redis and a Chroma of its own (as the tests do) with `engram serve` and
 * `engram worker`; `--url/--key` drives an Engram that runs already (RSS is then not known).
 * Traffic goes to that one address only, bounded by the rates and the duration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestChroma } from '../test/support/chroma-server.js';
import { freePort, waitFor } from '../test/support/free-port.js';
import { createTestDatabase } from '../test/support/postgres.js';
import { startTestRedis } from '../test/support/redis-server.js';
import { percentile } from '../bench/lib/stats.js';
import { builtEngramCli } from '../bench/lib/built-engram.js';
import { stopOnSignals } from '../bench/lib/stop-on-signals.js';

/** Requests in flight at most: beyond it the load generator counts a request as not sent. */
const MAX_OUTSTANDING = 2_000;
const TICK_MS = 10;
const USERS = 50;

interface Window {
  readonly latencies: { write: number[]; search: number[] };
  readonly errors: Record<string, number>;
  ok: { write: number; search: number };
  notSent: number;
}

interface MinuteReport {
  readonly minute: number;
  readonly writes: number;
  readonly searches: number;
  readonly errors: Record<string, number>;
  readonly notSent: number;
  readonly writeP50Ms: number;
  readonly writeP99Ms: number;
  readonly searchP50Ms: number;
  readonly searchP99Ms: number;
  readonly rssMiB: Record<string, number>;
}

function newWindow(): Window {
  return { latencies: { write: [], search: [] }, errors: {}, ok: { write: 0, search: 0 }, notSent: 0 };
}

/** A percentile in ms to a tenth, 0 for no values. */
function percentileMs(values: number[], p: number): number {
  return values.length === 0 ? 0 : Math.round(percentile(values, p) * 10) / 10;
}

/** Resident memory of a process in MiB, from /proc (Linux). */
function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Math.round(Number(match[1]) / 1024);
  } catch {
    return 0;
  }
}

function engram(cli: string, args: readonly string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[engram ${args[0] ?? ''}] ${chunk.toString('utf8')}`));
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

interface Target {
  readonly url: string;
  readonly key: string;
  readonly processes: Record<string, ChildProcess>;
  stop(): Promise<void>;
}

async function startTarget(distributed: boolean): Promise<Target> {
  const cli = builtEngramCli();
  const port = await freePort();
  const key = `soak-${randomUUID()}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-soak-'));
  const env: Record<string, string> = {
    PORT: String(port),
    ENGRAM_API_KEY: key,
    ENGRAM_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // The soak measures Engram, not the per-key limit.
    ENGRAM_RATE_LIMIT_PER_MINUTE: '10000000',
  };
  const url = `http://127.0.0.1:${port}`;
  const processes: Record<string, ChildProcess> = {};
  const stores: { stop(): Promise<void> }[] = [];
  let stopping: Promise<void> | null = null;
  // Once, whoever asks first (the end of the run, a failed start, a signal); each step is tried.
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.allSettled(Object.values(processes).map(stopChild));
      await Promise.allSettled([...stores.map((store) => store.stop()), rm(dataDir, { recursive: true, force: true })]);
    })());
  try {
    if (distributed) {
      const [database, redis, chroma] = await Promise.all([createTestDatabase(), startTestRedis(), startTestChroma()]);
      stores.push({ stop: () => database.drop() }, redis, chroma);
      Object.assign(env, { DATABASE_URL: database.url, REDIS_URL: redis.url, CHROMA_URL: chroma.url });
      processes['api'] = engram(cli, ['serve'], env);
      processes['worker'] = engram(cli, ['worker'], env);
    } else {
      processes['engram'] = engram(cli, ['start'], env);
    }
    await waitFor(async () => (await fetch(`${url}/readyz`)).ok, 120_000, 'engram to be ready');
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, key, processes, stop };
}

const WORDS = ['garden', 'sailing', 'coffee', 'Berlin', 'piano', 'marathon', 'tomatoes', 'cat', 'Lisbon', 'chess', 'recipe', 'dentist'];

function sentence(n: number): string {
  const pick = (k: number) => WORDS[(n * 7 + k * 13) % WORDS.length] ?? 'memory';
  return `note ${n}: I talked about ${pick(1)} and ${pick(2)} after ${pick(3)} today`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      'writes-per-second': { type: 'string', default: '100' },
      'searches-per-second': { type: 'string', default: '50' },
      distributed: { type: 'boolean', default: false },
      url: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes);
  const writeRate = Number(values['writes-per-second']);
  const searchRate = Number(values['searches-per-second']);
  if (!(minutes > 0) || !(writeRate >= 0) || !(searchRate >= 0)) throw new Error('--minutes must be > 0 and rates >= 0');

  const external = values.url !== undefined;
  if (external && values.key === undefined) throw new Error('--url needs --key');
  const target: Target = external
    ? { url: values.url ?? '', key: values.key ?? '', processes: {}, stop: async () => undefined }
    : await startTarget(values.distributed);
  stopOnSignals(() => target.stop());
  try {
    process.stdout.write(`soak: ${minutes} min, ${writeRate} writes/s, ${searchRate} searches/s against ${target.url}\n`);

    const headers = { 'content-type': 'application/json', 'x-api-key': target.key };
    const taskIds: string[] = [];
    let window = newWindow();
    let outstanding = 0;
    let sent = 0;
    const reports: MinuteReport[] = [];
    const rssPeak: Record<string, number> = {};

    const call = async (kind: 'write' | 'search'): Promise<void> => {
      if (outstanding >= MAX_OUTSTANDING) {
        window.notSent += 1;
        return;
      }
      outstanding += 1;
      const n = sent++;
      const user = `soak-user-${n % USERS}`;
      const body =
        kind === 'write'
          ? { user_id: user, session_id: `session-${n % 200}`, text: sentence(n) }
          : { user_id: user, query: `what about ${WORDS[n % WORDS.length] ?? 'it'}?`, top_k: 10 };
      const began = performance.now();
      const current = window;
      try {
        const response = await fetch(`${target.url}${kind === 'write' ? '/memory' : '/memory/search'}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await response.text();
        const ok = kind === 'write' ? response.status === 202 : response.status === 200;
        if (ok) {
          current.ok[kind] += 1;
          current.latencies[kind].push(performance.now() - began);
          if (kind === 'write') taskIds.push((JSON.parse(text) as { task_id: string }).task_id);
        } else {
          const label = `${kind} ${response.status}`;
          current.errors[label] = (current.errors[label] ?? 0) + 1;
        }
      } catch (error) {
        const label = `${kind} ${error instanceof Error ? error.name : 'error'}`;
        current.errors[label] = (current.errors[label] ?? 0) + 1;
      } finally {
        outstanding -= 1;
      }
    };

    const began = Date.now();
    const end = began + minutes * 60_000;
    // What is due follows the clock, not the ticks: a tick that comes late (a busy machine) is
    // caught up at once, so the rates hold over the run.
    let firedWrites = 0;
    let firedSearches = 0;
    let minute = 1;
    const inFlight = new Set<Promise<void>>();
    const fire = (kind: 'write' | 'search'): void => {
      const running = call(kind);
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
    };

    while (Date.now() < end) {
      const elapsedSeconds = (Date.now() - began) / 1000;
      for (; firedWrites < Math.floor(elapsedSeconds * writeRate); firedWrites += 1) fire('write');
      for (; firedSearches < Math.floor(elapsedSeconds * searchRate); firedSearches += 1) fire('search');
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
      if (Date.now() >= began + minute * 60_000 || Date.now() >= end) {
        const rss = Object.fromEntries(Object.entries(target.processes).map(([name, child]) => [name, rssMiB(child.pid)]));
        for (const [name, value] of Object.entries(rss)) rssPeak[name] = Math.max(rssPeak[name] ?? 0, value);
        const report: MinuteReport = {
          minute,
          writes: window.ok.write,
          searches: window.ok.search,
          errors: window.errors,
          notSent: window.notSent,
          writeP50Ms: percentileMs(window.latencies.write, 50),
          writeP99Ms: percentileMs(window.latencies.write, 99),
          searchP50Ms: percentileMs(window.latencies.search, 50),
          searchP99Ms: percentileMs(window.latencies.search, 99),
          rssMiB: rss,
        };
        reports.push(report);
        process.stdout.write(
          `minute ${minute}: writes ${report.writes} (p50 ${report.writeP50Ms} ms, p99 ${report.writeP99Ms} ms), ` +
            `searches ${report.searches} (p50 ${report.searchP50Ms} ms, p99 ${report.searchP99Ms} ms), ` +
            `errors ${JSON.stringify(report.errors)}, not sent ${report.notSent}, rss ${JSON.stringify(rss)} MiB\n`,
        );
        window = newWindow();
        minute += 1;
      }
    }
    await Promise.all([...inFlight]);

    // Every accepted write should be stored soon after the load stops: look at a sample of them.
    const sample = taskIds.filter((_, index) => index % Math.max(1, Math.floor(taskIds.length / 200)) === 0);
    const settleBegan = Date.now();
    let pending = sample.length;
    let failed = 0;
    while (Date.now() - settleBegan < 120_000) {
      const statuses = await Promise.all(
        sample.map(async (id) => ((await (await fetch(`${target.url}/tasks/${id}`, { headers })).json()) as { status: string }).status),
      );
      pending = statuses.filter((status) => status === 'queued' || status === 'processing').length;
      failed = statuses.filter((status) => status === 'failed').length;
      if (pending === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }

    const all = (pick: (report: MinuteReport) => number) => reports.reduce((sum, report) => sum + pick(report), 0);
    const errorTotal = reports.reduce((sum, report) => sum + Object.values(report.errors).reduce((a, b) => a + b, 0), 0);
    const summary = {
      minutes,
      writesPerSecond: writeRate,
      searchesPerSecond: searchRate,
      writesAccepted: all((report) => report.writes),
      searchesAnswered: all((report) => report.searches),
      errors: errorTotal,
      notSent: all((report) => report.notSent),
      worstWriteP99Ms: Math.max(...reports.map((report) => report.writeP99Ms)),
      worstSearchP99Ms: Math.max(...reports.map((report) => report.searchP99Ms)),
      rssFirstMinuteMiB: reports[0]?.rssMiB ?? {},
      rssLastMinuteMiB: reports[reports.length - 1]?.rssMiB ?? {},
      rssPeakMiB: rssPeak,
      sampledTasks: sample.length,
      sampledStillPending: pending,
      sampledFailed: failed,
      settleMs: Date.now() - settleBegan,
      perMinute: reports,
    };
    process.stdout.write(
      `summary: ${summary.writesAccepted} writes, ${summary.searchesAnswered} searches, ${summary.errors} errors, ` +
        `${summary.notSent} not sent; worst p99 write ${summary.worstWriteP99Ms} ms, search ${summary.worstSearchP99Ms} ms; ` +
        `rss first ${JSON.stringify(summary.rssFirstMinuteMiB)} last ${JSON.stringify(summary.rssLastMinuteMiB)} peak ${JSON.stringify(rssPeak)} MiB; ` +
        `sampled tasks ${sample.length}: ${pending} pending, ${failed} failed after ${summary.settleMs} ms\n`,
    );
    if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await target.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
