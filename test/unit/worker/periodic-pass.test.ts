import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PeriodicPass } from '../../../src/worker/periodic-pass.js';
import { silentLogger } from '../../support/logger.js';

describe('PeriodicPass', () => {
  it('runs pass after pass, never two at once, and keeps going after a failure', async () => {
    let running = 0;
    let overlapped = false;
    let passes = 0;
    const pass = new PeriodicPass({
      name: 'test',
      logger: silentLogger(),
      intervalMs: 1,
      run: async () => {
        running += 1;
        overlapped ||= running > 1;
        passes += 1;
        await sleep(5);
        running -= 1;
        if (passes === 2) throw new Error('store down');
        return { passes };
      },
    });
    pass.start();
    pass.start();
    while (passes < 5) await sleep(5);
    await pass.stop();
    assert.equal(overlapped, false);
    const afterStop = passes;
    await sleep(30);
    assert.equal(passes, afterStop);
  });

  it('waits for the pass under way when stopped', async () => {
    let finished = false;
    let started = false;
    const pass = new PeriodicPass({
      name: 'test',
      logger: silentLogger(),
      intervalMs: 1,
      run: async () => {
        started = true;
        await sleep(50);
        finished = true;
        return {};
      },
    });
    pass.start();
    while (!started) await sleep(1);
    await pass.stop();
    assert.equal(finished, true);
    await pass.stop();
  });
});
