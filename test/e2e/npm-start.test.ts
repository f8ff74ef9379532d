import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { builtEngramCli } from '../../bench/lib/built-engram.js';
import { freePort, portAnswers, waitFor } from '../support/free-port.js';

/** The process named by the embedded database's lock in `dataDir`, if one is. */
function lockHolder(dataDir: string): number | null {
  try {
    const { pid } = JSON.parse(readFileSync(join(dataDir, 'engram.lock'), 'utf8')) as { pid?: unknown };
    return typeof pid === 'number' ? pid : null;
  } catch {
    return null;
  }
}

describe('npm start', () => {
  it('stops Engram when npm is told to stop, as a process supervisor that signals only npm does', async () => {
    // `npm start` runs the build in dist, as a user's `npm install` leaves it.
    builtEngramCli();
    const dataDir = await mkdtemp(join(tmpdir(), 'engram-npm-start-'));
    const port = await freePort();
    const npm = spawn('npm', ['start'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ENGRAM_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
    try {
      await waitFor(() => portAnswers(port), 90_000, `engram at port ${port}\n${output}`);
      const engram = lockHolder(dataDir);
      assert.ok(engram !== null && engram !== npm.pid, 'Engram runs in a process of its own under npm');
      npm.kill('SIGTERM');
      await exited;
      await waitFor(async () => !(await portAnswers(port)), 30_000, `Engram (process ${engram}) still serving after npm stopped\n${output}`);
      await waitFor(async () => lockHolder(dataDir) === null, 10_000, 'the data folder still locked');
    } finally {
      npm.kill('SIGKILL');
      // An Engram that outlived npm is stopped here, not left running.
      const left = lockHolder(dataDir);
      if (left !== null) {
        try {
          process.kill(left, 'SIGTERM');
        } catch {
          // Gone already.
        }
        await waitFor(async () => !(await portAnswers(port)), 30_000, `Engram (process ${left}) did not stop`).catch(() => undefined);
      }
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
