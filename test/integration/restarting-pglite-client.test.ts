import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import pino from 'pino';
import { DependencyUnavailableError } from '../../src/domain/errors.js';
import { PGLITE_START_PARAMS } from '../../src/adapters/pglite/pglite-metadata-store.js';
import { PgliteThreadClient } from '../../src/adapters/pglite/pglite-thread-client.js';
import { RestartingPgliteClient } from '../../src/adapters/pglite/restarting-pglite-client.js';
import { waitFor } from '../support/free-port.js';
import { silentLogger } from '../support/logger.js';
import { countedRestarts } from '../support/restart-counts.js';

/** A database folder with a table `kept` holding the row 1, flushed and closed. */
async function databaseWithOneRow(): Promise<{ folder: string; dataDir: string }> {
  const folder = await mkdtemp(join(tmpdir(), 'engram-restart-'));
  const dataDir = join(folder, 'pgdata');
  const client = await PgliteThreadClient.start({ dataDir, startParams: PGLITE_START_PARAMS });
  await client.query('CREATE TABLE kept (n int)');
  await client.query('INSERT INTO kept VALUES (1)');
  await client.close();
  return { folder, dataDir };
}

/** Asks until the database answers (it is being started again), and gives its answer. */
async function onceServing<Row>(client: RestartingPgliteClient, text: string): Promise<Row[]> {
  for (;;) {
    try {
      return await client.query<Row>(text);
    } catch (error) {
      assert.ok(error instanceof DependencyUnavailableError, String(error));
      await sleep(50);
    }
  }
}

describe('the embedded database, started again', () => {
  it('serves again after PostgreSQL stopped, with what was flushed before, and says so in the log and the counts', async () => {
    const { folder, dataDir } = await databaseWithOneRow();
    const lines: Array<{ msg?: string; retryInMs?: number; err?: { message?: string } }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
    const { counted, counts } = countedRestarts();
    const client = await RestartingPgliteClient.start({ dataDir, startParams: PGLITE_START_PARAMS, failOnceOpen: 'log-writes' }, logger, {
      timing: { firstDelayMs: 100 },
      counts,
    });
    try {
      // The log cannot be written: PostgreSQL stops, and so does every statement until it is back.
      await assert.rejects(client.query('INSERT INTO kept VALUES (2)'), DependencyUnavailableError);
      assert.deepEqual(await onceServing<{ n: number }>(client, 'SELECT n FROM kept ORDER BY n'), [{ n: 1 }]);
      await client.query('INSERT INTO kept VALUES (3)');
      assert.deepEqual(await client.transactionOf([{ text: 'SELECT count(*)::int AS count FROM kept', params: [], prepare: true }]), [
        { count: 2 },
      ]);
      const stopped = lines.find((line) => line.msg === 'the embedded database stopped; starting it again');
      assert.equal(stopped?.retryInMs, 100);
      assert.match(stopped?.err?.message ?? '', /postgres is unavailable/);
      assert.ok(lines.some((line) => line.msg === 'the embedded database started again'));
      assert.deepEqual(counted, { stopped: 1, startFailed: 0 });
    } finally {
      await client.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('serves again after its thread failed with an error nothing caught, and the process goes on', async () => {
    const { folder, dataDir } = await databaseWithOneRow();
    const { counted, counts } = countedRestarts();
    const client = await RestartingPgliteClient.start({ dataDir, startParams: PGLITE_START_PARAMS, failOnceOpen: 'throws' }, silentLogger(), {
      timing: { firstDelayMs: 100 },
      counts,
    });
    try {
      // The first statement's answer may come before the thread fails; what follows waits for the new thread.
      await client.query('SELECT 1').catch((error: unknown) => assert.ok(error instanceof DependencyUnavailableError, String(error)));
      await waitFor(async () => counted.stopped === 1, 10_000, 'the stop to be counted');
      assert.deepEqual(await onceServing<{ n: number }>(client, 'SELECT n FROM kept ORDER BY n'), [{ n: 1 }]);
      assert.deepEqual(counted, { stopped: 1, startFailed: 0 });
    } finally {
      await client.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('closes while waiting to start again', async () => {
    const { folder, dataDir } = await databaseWithOneRow();
    const client = await RestartingPgliteClient.start({ dataDir, startParams: PGLITE_START_PARAMS, failOnceOpen: 'log-writes' }, silentLogger(), {
      timing: { firstDelayMs: 60_000 },
    });
    try {
      await assert.rejects(client.query('INSERT INTO kept VALUES (2)'), DependencyUnavailableError);
      await client.close();
      await assert.rejects(client.query('SELECT 1'));
      // Nothing was lost by the stop: the database opens with its row.
      const other = await PgliteThreadClient.start({ dataDir, startParams: PGLITE_START_PARAMS });
      assert.deepEqual(await other.query('SELECT n FROM kept ORDER BY n'), [{ n: 1 }]);
      await other.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
