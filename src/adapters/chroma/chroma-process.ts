import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { withMallocTunables } from '../../config/malloc-tunables.js';
import { lowerProcessPriority } from '../cpu-priority.js';
import type { Logger } from '../../ports/logger.js';
import { ChromaStartFailedError } from './errors.js';
import { chromaServerConfig } from './server-config.js';

export interface ChromaProcessOptions {
  /**
   * Engram's data folder: Chroma keeps its files in `<dataDir>/chroma`, its pid in
   * `<dataDir>/chroma.pid`, and is started with `<dataDir>/chroma-server.yaml`.
   */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Port on 127.0.0.1. Default: a free one. */
  readonly port?: number;
  /** How long Chroma may take to answer its first heartbeat. Default 20,000 ms. */
  readonly startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before it sends SIGKILL. Default 5,000 ms. */
  readonly stopGraceMs?: number;
  /**
   * The nice value the server runs at once it answers (on Linux every thread of it; see
   * lowerProcessPriority). Default 0, the parent's.
   */
  readonly niceness?: number;
}

export interface ChromaProcess {
  /** Where the server answers, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly pid: number;
  /** Ends the server: SIGTERM, then SIGKILL after the grace period. Safe to call twice. */
  stop(): Promise<void>;
  /** Settles when the server exits by itself (a crash, the out-of-memory killer), never after `stop()`. */
  readonly crashed: Promise<void>;
}

/**
 * What of Engram's environment the Chroma child sees: what a process needs to run (the path,
 * home, temporary folder, locale, time zone) and Chroma's and its runtime's own settings. Engram's
 * secrets (keys, database and Redis URLs with their passwords) are not passed on.
 */
const CHROMA_ENVIRONMENT = /^(PATH|HOME|TMPDIR|TZ|LANG|LANGUAGE|LC_[A-Z_]+|CHROMA_[A-Z0-9_]+|RUST_[A-Z_]+|GLIBC_TUNABLES)$/;

function chromaEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => CHROMA_ENVIRONMENT.test(name) && name !== 'CHROMA_URL'));
}

/** Lines of Chroma's output kept to explain a failure. */
const OUTPUT_TAIL_LINES = 40;
const POLL_INTERVAL_MS = 100;

/**
 * Starts the Chroma server of the installed `chromadb` package as a child process for embedded
 * mode. It listens on 127.0.0.1 only, since this Chroma has no authentication. A server left
 * running by an earlier parent that was killed is ended first, found through the pid file.
 */
export async function startChromaProcess(options: ChromaProcessOptions): Promise<ChromaProcess> {
  const logger = options.logger.child({ component: 'chroma-process' });
  const cliPath = chromaCliPath();
  const chromaDir = resolve(options.dataDir, 'chroma');
  const pidFile = resolve(options.dataDir, 'chroma.pid');
  const configFile = chromaConfigFileOf(options.dataDir);
  await mkdir(chromaDir, { recursive: true });
  await endStaleChroma(pidFile, { cliPath, chromaDir, configFile }, options.stopGraceMs ?? 5_000, logger);

  const port = options.port ?? (await freeLoopbackPort());
  const url = `http://127.0.0.1:${port}`;
  await writeFile(configFile, chromaServerConfig({ persistPath: chromaDir, listenAddress: '127.0.0.1', port }));
  const child = spawn(process.execPath, [cliPath, 'run', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: withMallocTunables(chromaEnvironment(process.env)),
  });
  const output = new OutputTail(OUTPUT_TAIL_LINES);
  // Chroma prints a banner with a sign-up link: worth keeping for a failure, not for the log.
  child.stdout?.on('data', (chunk: Buffer) => output.add(chunk, (line) => logger.debug({ line }, 'chroma output')));
  child.stderr?.on('data', (chunk: Buffer) => output.add(chunk, (line) => logger.debug({ line }, 'chroma output')));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const spawnFailure = new Promise<Error>((resolveError) => child.once('error', resolveError));

  const pid = child.pid;
  if (pid === undefined) {
    throw new ChromaStartFailedError(`could not start ${cliPath}`, output.lines(), await spawnFailure);
  }
  await writeFile(pidFile, `${pid}\n`);

  // A parent that exits without stop() would leave Chroma holding the data folder.
  const killOnParentExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', killOnParentExit);
  let stopRequested = false;
  const stop = once(async () => {
    stopRequested = true;
    process.off('exit', killOnParentExit);
    await terminate(child, exited, options.stopGraceMs ?? 5_000);
    await removePidFileOf(pidFile, pid);
    logger.info({ chromaPid: pid }, 'chroma stopped');
  });

  try {
    await waitForHeartbeat(url, child, options.startTimeoutMs ?? 20_000);
  } catch (cause) {
    await stop();
    const reason = cause instanceof Error ? cause.message : String(cause);
    const lastWords = output.lines().slice(-5).join('\n');
    throw new ChromaStartFailedError(
      `chroma did not start on ${url}: ${reason}${lastWords === '' ? '' : `; its last output:\n${lastWords}`}`,
      output.lines(),
      cause,
    );
  }
  const crashed = new Promise<void>((resolveCrash) =>
    child.once('exit', (code, signal) => {
      if (stopRequested) return;
      logger.error({ code, signal, output: output.lines() }, 'chroma exited unexpectedly');
      resolveCrash();
    }),
  );
  const niceness = options.niceness ?? 0;
  if (niceness > 0 && !lowerProcessPriority(pid, niceness)) {
    logger.warn({ chromaPid: pid, niceness }, 'could not lower the priority of chroma');
  }
  logger.info({ url, chromaPid: pid, path: chromaDir, niceness }, 'chroma started');
  return { url, pid, stop, crashed };
}

/** The configuration file the Chroma of an Engram data folder is started with. */
export function chromaConfigFileOf(dataDir: string): string {
  return resolve(dataDir, 'chroma-server.yaml');
}

/** The `chroma` bin of the installed `chromadb` package, found from this module, not from the cwd. */
export function chromaCliPath(): string {
  const entry = createRequire(import.meta.url).resolve('chromadb');
  for (let folder = dirname(entry); folder !== dirname(folder); folder = dirname(folder)) {
    const manifestPath = join(folder, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: unknown; bin?: unknown };
    if (manifest.name !== 'chromadb') continue;
    const bin = typeof manifest.bin === 'string' ? manifest.bin : (manifest.bin as Record<string, unknown>)['chroma'];
    if (typeof bin === 'string') return join(folder, bin);
  }
  throw new ChromaStartFailedError('the chromadb package has no chroma command; reinstall dependencies', []);
}

async function waitForHeartbeat(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.exitCode ?? child.signalCode}) before answering`);
    }
    try {
      const response = await fetch(`${url}/api/v2/heartbeat`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no heartbeat within ${timeoutMs} ms`);
    await sleep(POLL_INTERVAL_MS);
  }
}

async function terminate(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  // The timer is cleared as soon as the child exits: a pending one would hold the parent's exit.
  const killLater = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killLater);
}

/**
 * Ends the Chroma of this data folder that an earlier, killed parent left running. The pid is only
 * trusted when that process really is this package's Chroma on this folder: pids get reused.
 */
async function endStaleChroma(pidFile: string, ours: OurChroma, graceMs: number, logger: Logger): Promise<void> {
  const pid = await readPid(pidFile);
  if (pid === null) return;
  if (isChromaOf(pid, ours)) {
    logger.warn({ chromaPid: pid }, 'ending a chroma left running by an earlier start');
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isChromaOf(pid, ours) && Date.now() < deadline) await sleep(POLL_INTERVAL_MS);
    if (isChromaOf(pid, ours)) signal(pid, 'SIGKILL');
    while (isChromaOf(pid, ours)) await sleep(POLL_INTERVAL_MS);
  }
  await rm(pidFile, { force: true });
}

/** What tells this data folder's Chroma from any other process. */
interface OurChroma {
  readonly cliPath: string;
  readonly chromaDir: string;
  readonly configFile: string;
}

/** Started with this folder's configuration file, or (by an earlier version) with `--path` to its files. */
function isChromaOf(pid: number, ours: OurChroma): boolean {
  let commandLine: string[];
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\u0000');
  } catch {
    return false;
  }
  const run = commandLine.indexOf('run');
  if (!commandLine.includes(ours.cliPath) || run === -1) return false;
  const pathIndex = commandLine.indexOf('--path');
  return commandLine[run + 1] === ours.configFile || (pathIndex !== -1 && commandLine[pathIndex + 1] === ours.chromaDir);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // it ended on its own in the meantime
  }
}

async function readPid(pidFile: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

async function removePidFileOf(pidFile: string, pid: number): Promise<void> {
  // A newer start may already have written its own pid there.
  if ((await readPid(pidFile)) === pid) await rm(pidFile, { force: true });
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('the system gave no port'));
      });
    });
  });
}

/** The last lines a process printed, without colour codes. */
class OutputTail {
  readonly #lines: string[] = [];
  readonly #capacity: number;
  #partial = '';

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(chunk: Buffer, onLine: (line: string) => void): void {
    // eslint-disable-next-line no-control-regex
    const text = this.#partial + chunk.toString('utf8').replace(/\u001b\[[0-9;]*m/g, '');
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.#lines.push(line);
      if (this.#lines.length > this.#capacity) this.#lines.shift();
      onLine(line);
    }
  }

  lines(): string[] {
    return this.#partial.trim() === '' ? [...this.#lines] : [...this.#lines, this.#partial];
  }
}

function once(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= run());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
