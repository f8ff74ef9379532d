import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { startChromaProcess } from '../../src/adapters/chroma/chroma-process.js';
import { DomainError } from '../../src/domain/errors.js';
import { freePort, waitFor } from '../support/free-port.js';
import { silentLogger } from '../support/logger.js';

const logger = silentLogger();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function answersHeartbeat(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/api/v2/heartbeat`)).ok;
  } catch {
    return false;
  }
}

describe('startChromaProcess', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'engram-chroma-process-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts Chroma on loopback, answers heartbeats, and stops, also when asked twice', async () => {
    const chroma = await startChromaProcess({ dataDir, logger });

    assert.match(chroma.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(await answersHeartbeat(chroma.url));
    assert.equal((await readFile(join(dataDir, 'chroma.pid'), 'utf8')).trim(), String(chroma.pid));
    assert.ok(existsSync(join(dataDir, 'chroma')), 'Chroma keeps its data under the data folder');

    await chroma.stop();
    await chroma.stop();

    assert.equal(isAlive(chroma.pid), false);
    assert.equal(await answersHeartbeat(chroma.url), false);
    assert.equal(existsSync(join(dataDir, 'chroma.pid')), false);
  });

  it('ends a Chroma that a killed parent left running before it starts a new one', async () => {
    const orphan = await startChromaProcess({ dataDir, logger });

    const fresh = await startChromaProcess({ dataDir, logger });
    try {
      await waitFor(async () => !isAlive(orphan.pid), 5_000, 'the orphan to end');
      assert.ok(await answersHeartbeat(fresh.url));
    } finally {
      await fresh.stop();
      await orphan.stop();
    }
  });

  it('leaves alone a process named in the pid file that is not Chroma', async () => {
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    const bystanderPid = bystander.pid ?? assert.fail('sleep did not start');
    await writeFile(join(dataDir, 'chroma.pid'), `${bystanderPid}\n`);
    try {
      const chroma = await startChromaProcess({ dataDir, logger });
      await chroma.stop();

      assert.equal(isAlive(bystanderPid), true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it("fails with chroma_start_failed and Chroma's last output when it cannot listen", async () => {
    const port = await freePort();
    const connections: Socket[] = [];
    const squatter = createServer((socket) => connections.push(socket));
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await assert.rejects(startChromaProcess({ dataDir, logger, port, startTimeoutMs: 5_000 }), (error: unknown) => {
        assert.ok(error instanceof DomainError);
        assert.equal(error.code, 'chroma_start_failed');
        const { output } = error.details as { output: string[] };
        assert.ok(output.length > 0, 'the error carries what Chroma printed');
        return true;
      });
      assert.equal(existsSync(join(dataDir, 'chroma.pid')), false);
    } finally {
      connections.forEach((socket) => socket.destroy());
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
