import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Restarts } from '../../../src/adapters/restarts.js';
import { silentLogger } from '../../support/logger.js';

/** A supervisor of numbered starts whose first `failures` starts after a stop fail. */
function supervisor(failures: number): { restarts: Restarts<number>; started: number[]; counted: { stopped: number; startFailed: number } } {
  const started: number[] = [];
  const counted = { stopped: 0, startFailed: 0 };
  let attempts = 0;
  const restarts = new Restarts<number>({
    what: 'the test dependency',
    start: async () => {
      attempts += 1;
      if (attempts <= failures) throw new Error(`start ${attempts} failed`);
      return attempts;
    },
    started: async (value) => void started.push(value),
    discard: async () => undefined,
    logger: silentLogger(),
    supervision: {
      timing: { firstDelayMs: 5, maxDelayMs: 20 },
      counts: { stopped: () => void counted.stopped++, startFailed: () => void counted.startFailed++ },
    },
  });
  return { restarts, started, counted };
}

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    assert.ok(waited < 5_000, 'the condition to hold within 5 s');
    await sleep(5);
  }
}

describe('Restarts', () => {
  it('counts each stop and each failed start, and starts again until a start succeeds', async () => {
    const { restarts, started, counted } = supervisor(3);
    restarts.stopped(new Error('gone'));
    await until(() => started.length === 1);
    assert.deepEqual(started, [4]);
    assert.deepEqual(counted, { stopped: 1, startFailed: 3 });

    restarts.stopped(new Error('gone again'));
    await until(() => started.length === 2);
    assert.deepEqual(started, [4, 5]);
    assert.deepEqual(counted, { stopped: 2, startFailed: 3 });
    await restarts.close();
  });

  it('counts nothing and starts nothing once closed', async () => {
    const { restarts, started, counted } = supervisor(0);
    await restarts.close();
    restarts.stopped(new Error('gone after close'));
    await sleep(30);
    assert.deepEqual(started, []);
    assert.deepEqual(counted, { stopped: 0, startFailed: 0 });
  });
});
