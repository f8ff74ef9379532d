/**
 * Starts Engram as child processes, as an operator would, so that the benchmark's own work never
 * shares their event loop or their memory: `engram start` (embedded), or `engram serve` plus
 * `engram worker` on a Postgres database, Redis and Chroma that the benchmark starts itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import { chromaConfigFileOf } from '../../src/adapters/chroma/chroma-process.js';
import { withMallocTunables } from '../../src/config/malloc-tunables.js';
import { startTestChroma, type TestChroma } from '../../test/support/chroma-server.js';
import { freePort, waitFor } from '../../test/support/free-port.js';
import { createTestDatabase, POSTGRES_ADMIN_URL, type TestDatabase } from '../../test/support/postgres.js';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.js';
import { builtEngramCli } from './built-engram.js';
import { stopOnSignals } from './stop-on-signals.js';
import { ownCpuSeconds, processCpuSeconds, type CpuReading } from './cpu-time.js';
import { rssBytes } from './stats.js';

export type Mode = 'embedded' | 'distributed';

export interface EngramUnderTest {
  readonly mode: Mode;
  readonly url: string;
  readonly apiKey: string;
  /** Chroma's URL, for the floor measurement. */
  readonly chromaUrl: () => Promise<string>;
  /** Postgres URL in distributed mode; null when the embedded PGlite is held by Engram. */
  readonly databaseUrl: string | null;
  /** RSS of Engram's own processes, and of Chroma. */
  rss(): { engram: number; chroma: number };
  /** CPU used so far by Engram, its stores and this process (see cpu-time.ts). */
  cpuReading(): Promise<CpuReading>;
  /** Bytes on disk of the stores (Chroma's files plus the database). */
  diskBytes(): Promise<number>;
  /**
   * Embedded mode only: stops Engram, hands its PGlite folder to `work` (the only way to reach that
   * database, which Engram holds while it runs), then starts Engram again on the same data and port.
   */
  whileStopped<T>(work: (pgDataDir: string) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

function launch(cli: string, command: string, env: Record<string, string>, nodeArgs: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, cli, command], {
    // As `npm start` and the image start Engram.
    env: withMallocTunables({ ...process.env, ...env }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

function duBytes(path: string): number {
  try {
    return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]) || 0;
  } catch {
    return 0;
  }
}

function processArgs(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** Children of a process (the embedded Chroma is a child of `engram start`). */
function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The Postgres server's processes serving a database, asked through another database so that the
 * asking connection is not among them. A backend that ended between two readings takes its CPU
 * along; Engram's pools keep theirs open.
 */
async function backendPids(databaseName: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const result = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [databaseName]);
    return result.rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

/** `nodeArgs` go to Engram's node processes, e.g. `--cpu-prof` to see where their time goes. */
export async function startEngram(mode: Mode, extraEnv: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<EngramUnderTest> {
  const cli = builtEngramCli();
  const apiKey = `bench-${randomUUID()}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-bench-'));
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    ENGRAM_API_KEY: apiKey,
    ENGRAM_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // The benchmark is one client sending far more than a tenant normally would.
    ENGRAM_RATE_LIMIT_PER_MINUTE: '10000000',
    ...extraEnv,
  };
  const url = `http://127.0.0.1:${port}`;
  let database: TestDatabase | null = null;
  let redis: TestRedis | null = null;
  let chroma: TestChroma | null = null;
  const children: ChildProcess[] = [];
  let stopping: Promise<void> | null = null;
  // Each step is tried whatever the one before did: a database not dropped leaves the folder removed.
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      stopHandlingSignals();
      for (const child of children.reverse()) await stopChild(child);
      const results = await Promise.allSettled([database?.drop(), redis?.stop(), chroma?.stop(), rm(dataDir, { recursive: true, force: true })]);
      const failed = results.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    })());
  const stopHandlingSignals = stopOnSignals(stopAll, 'stopping Engram and removing its stores…');
  try {
    if (mode === 'distributed') {
      [database, redis, chroma] = await Promise.all([createTestDatabase(), startTestRedis(), startTestChroma()]);
      Object.assign(env, { DATABASE_URL: database.url, REDIS_URL: redis.url, CHROMA_URL: chroma.url });
      children.push(launch(cli, 'worker', env, nodeArgs));
      children.push(launch(cli, 'serve', env, nodeArgs));
    } else {
      children.push(launch(cli, 'start', env, nodeArgs));
    }
    await waitFor(async () => (await fetch(`${url}/readyz`)).ok, 180_000, 'engram to be ready');
  } catch (error) {
    await stopAll();
    throw error;
  }
  const embeddedChromaConfig = chromaConfigFileOf(dataDir);
  const chromaPid = (): number | null => {
    if (chroma !== null) return chroma.pid();
    const [start] = children;
    if (start === undefined) return null;
    // `engram start` may have other children than Chroma: pick the one run with that file.
    return childPids(start.pid ?? 0).find((pid) => processArgs(pid).includes(embeddedChromaConfig)) ?? null;
  };
  return {
    mode,
    url,
    apiKey,
    databaseUrl: database?.url ?? null,
    async chromaUrl() {
      if (chroma !== null) return chroma.url;
      const config = parse(await readFile(embeddedChromaConfig, 'utf8')) as { port?: unknown };
      return `http://127.0.0.1:${String(config.port ?? 0)}`;
    },
    rss() {
      const chromaId = chromaPid();
      const engram = children.reduce((sum, child) => sum + rssBytes(child.pid ?? 0), 0);
      return { engram, chroma: chromaId === null ? 0 : rssBytes(chromaId) };
    },
    async cpuReading() {
      return {
        engram: children.reduce((sum, child) => sum + processCpuSeconds(child.pid ?? 0), 0),
        chroma: processCpuSeconds(chromaPid() ?? 0),
        postgresBackends: new Map((database === null ? [] : await backendPids(database.name)).map((pid) => [pid, processCpuSeconds(pid)])),
        redis: processCpuSeconds(redis?.pid() ?? 0),
        bench: ownCpuSeconds(),
      };
    },
    async diskBytes() {
      if (database === null) return duBytes(dataDir);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const result = await client.query<{ size: string }>('SELECT pg_database_size(current_database())::text AS size');
        // The test Chroma keeps its files in a temporary folder of its own.
        return Number(result.rows[0]?.size ?? 0) + (chroma === null ? 0 : duBytes(chroma.dataPath));
      } finally {
        await client.end();
      }
    },
    async whileStopped<T>(work: (pgDataDir: string) => Promise<T>): Promise<T> {
      const [start] = children;
      if (mode !== 'embedded' || start === undefined) throw new Error('only an embedded Engram can be stopped for its database');
      await stopChild(start);
      try {
        return await work(join(dataDir, 'pgdata'));
      } finally {
        children[0] = launch(cli, 'start', env, nodeArgs);
        await waitFor(async () => (await fetch(`${url}/readyz`)).ok, 180_000, 'engram to be ready again');
      }
    },
    stop: stopAll,
  };
}
