import { hostname } from 'node:os';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';

const LOCK_FILE = 'engram.lock';

/** Another process (or this one) has the embedded database open. */
export class DataDirBusyError extends DomainError {
  constructor(dataDir: string, pid: number) {
    super(
      'conflict',
      'data_dir_busy',
      `the embedded database in ${dataDir} is in use by process ${pid}; ` +
        'stop that process, or set DATABASE_URL to share a PostgreSQL server between processes',
      { details: { dataDir, pid }, retryable: false },
    );
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

function readOwner(content: string): LockOwner | null {
  try {
    const owner = JSON.parse(content) as Partial<LockOwner>;
    return typeof owner.pid === 'number' ? { pid: owner.pid, host: owner.host ?? '', since: owner.since ?? '' } : null;
  } catch {
    return null;
  }
}

/**
 * Holds `dataDir` for this process with a lock file naming its pid. PGlite is one in-process
 * PostgreSQL: two processes on one folder would corrupt it, so the second opener is refused.
 * A lock left by a process that died is taken over.
 */
export async function lockDataDir(dataDir: string, logger: Logger): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
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
    const sameHost = owner !== null && (owner.host === '' || owner.host === hostname());
    if (owner !== null && (!sameHost || isAlive(owner.pid))) throw new DataDirBusyError(dataDir, owner.pid);
    // Only unlink the stale lock we read: another opener may have replaced it meanwhile.
    if ((await readFile(path, 'utf8').catch(() => null)) === content) {
      logger.warn({ dataDir, stalePid: owner?.pid }, 'taking over the lock of a process that is gone');
      await unlink(path).catch(() => undefined);
    }
  }
  throw new DomainError('conflict', 'data_dir_busy', `could not lock the embedded database in ${dataDir}`);
}

function ownedLock(path: string, mine: string): DataDirLock {
  let released: Promise<void> | null = null;
  return {
    release() {
      released ??= (async () => {
        if ((await readFile(path, 'utf8').catch(() => null)) === mine) await unlink(path).catch(() => undefined);
      })();
      return released;
    },
  };
}
