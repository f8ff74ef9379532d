import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Restarts } from '../../../src/adapters/restarts.js';
import { waitFor } from '../../support/free-port.js';
import { silentLogger } from '../../support/logger.js';
import { countedRestarts, type CountedRestarts } from '../../support/restart-counts.js';

/** A supervisor of numbered starts whose first `failures` starts after a stop fail. */
function supervisor(failures: number): { restarts: Restarts<number>; started: number[]; counted: CountedRestarts['counted'] } {
  const started: number[] = [];
  const { counted, counts } = countedRestarts();
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
      counts,
    },
  });
  return { restarts, started, counted };
}

describe('Restarts', () => {
  it('counts each stop and each failed start, and starts again until a start succeeds', async () => {
    const { restarts, started, counted } = supervisor(3);
    restarts.stopped(new Error('gone'));
    await waitFor(async () => started.length === 1, 5_000, 'the first start after the failed ones');
    assert.deepEqual(started, [4]);
    assert.deepEqual(counted, { stopped: 1, startFailed: 3 });

    restarts.stopped(new Error('gone again'));
    await waitFor(async () => started.length === 2, 5_000, 'the start after the second stop');
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
