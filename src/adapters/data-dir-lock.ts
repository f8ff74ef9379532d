import { hostname } from 'node:os';
import { mkdir, open, readFile, realpath, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../domain/errors.js';
import type { Logger } from '../ports/logger.js';

/** The holder touches its lock this often, so that another machine can tell a lock left behind. */
const HEARTBEAT_MS = 5_000;
/** A lock of another machine untouched this long is left behind (its holder is gone). */
const STALE_AFTER_MS = 30_000;
/** Lock files this process holds: a second opener in the same process is refused as any other. */
const held = new Set<string>();

/** What of the data folder a lock keeps to one process, and how to share it instead. */
export interface LockedPart {
  readonly lockFile: string;
  /** For the busy error: "the embedded database". */
  readonly what: string;
  /** For the busy error: how processes can share it instead. */
  readonly toShare: string;
}

/** PGlite is one in-process PostgreSQL: two processes on one folder would corrupt it. */
export const EMBEDDED_DATABASE: LockedPart = {
  lockFile: 'engram.lock',
  what: 'the embedded database',
  toShare: 'set DATABASE_URL to share a PostgreSQL server between processes',
};

/** The Chroma child of the folder: a second process would end it as one left behind, and start its own on the same files. */
export const EMBEDDED_CHROMA: LockedPart = {
  lockFile: 'chroma.lock',
  what: 'the embedded Chroma',
  toShare: 'set CHROMA_URL to share a Chroma server between processes',
};

/** Another process (or this one) has the embedded database, or the embedded Chroma, open. */
export class DataDirBusyError extends DomainError {
  constructor(dataDir: string, pid: number, part: LockedPart = EMBEDDED_DATABASE) {
    super('conflict', 'data_dir_busy', `${part.what} in ${dataDir} is in use by process ${pid}; stop that process, or ${part.toShare}`, {
      details: { dataDir, pid },
      retryable: false,
    });
  }
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export interface DataDirLock {
  /** Gives the folder up. Safe to call twice. */
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process `pid` of this machine began after `since` (Linux: its start in /proc, in
 * clock ticks of 1/100 s after boot): then it only reuses the number of the lock's holder, as a
 * restarted container's first process does. False when it cannot tell.
 */
async function startedAfter(pid: number, since: string): Promise<boolean> {
  const lockedAt = Date.parse(since);
  if (Number.isNaN(lockedAt)) return false;
  try {
    const [stat, machine] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/stat', 'utf8')]);
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(machine)?.[1]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(bootSeconds)) return false;
    // Boot time is given in whole seconds: a second of slack either way.
    return bootSeconds * 1_000 + startTicks * 10 > lockedAt + 1_000;
  } catch {
    return false;
  }
}

/**
 * Whether the lock's holder is gone. On this machine: it no longer runs, or its number is now
 * another process's (this one's, in a container started again). Another machine's processes cannot
 * be seen: its lock is left behind once its holder has stopped touching it.
 */
async function isLeftBehind(owner: LockOwner, path: string): Promise<boolean> {
  if (owner.host !== '' && owner.host !== hostname()) {
    const touched = await stat(path).then((file) => file.mtimeMs, () => null);
    return touched !== null && Date.now() - touched > STALE_AFTER_MS;
  }
  return owner.pid === process.pid || !isAlive(owner.pid) || (await startedAfter(owner.pid, owner.since));
}

function readOwner(content: string): LockOwner | null {
  try {
    const owner = JSON.parse(content) as Partial<LockOwner>;
    return typeof owner.pid === 'number' ? { pid: owner.pid, host: owner.host ?? '', since: owner.since ?? '' } : null;
  } catch {
    return null;
  }
}

/**
 * Holds `part` of `dataDir` for this process with a lock file naming its pid, host and start,
 * touched every few seconds; a second opener is refused. A lock left behind by a process that is
 * gone (see isLeftBehind) is taken over, so a start after a crash, or in a container started
 * again, finds its data.
 */
export async function lockDataDir(dataDir: string, logger: Logger, part: LockedPart = EMBEDDED_DATABASE): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  // One name for the folder however it was given, for `held`.
  const path = join(await realpath(dataDir), part.lockFile);
  if (held.has(path)) throw new DataDirBusyError(dataDir, process.pid, part);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });

  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(mine);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return ownedLock(path, mine);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const content = await readFile(path, 'utf8').catch(() => null);
    // Vanished in between, or still being written by its creator: look again.
    if (content === null || content === '') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    const owner = readOwner(content);
    if (owner !== null && !(await isLeftBehind(owner, path))) throw new DataDirBusyError(dataDir, owner.pid, part);
    // Only unlink the stale lock we read: another opener may have replaced it meanwhile.
    if ((await readFile(path, 'utf8').catch(() => null)) === content) {
      logger.warn({ dataDir, stalePid: owner?.pid }, 'taking over the lock of a process that is gone');
      await unlink(path).catch(() => undefined);
    }
  }
  throw new DomainError('conflict', 'data_dir_busy', `could not lock ${part.what} in ${dataDir}`);
}

function ownedLock(path: string, mine: string): DataDirLock {
  held.add(path);
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let released: Promise<void> | null = null;
  return {
    release() {
      released ??= (async () => {
        clearInterval(heartbeat);
        if ((await readFile(path, 'utf8').catch(() => null)) === mine) await unlink(path).catch(() => undefined);
        held.delete(path);
      })();
      return released;
    },
  };
}
