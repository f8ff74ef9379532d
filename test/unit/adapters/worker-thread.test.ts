import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { whenStarted } from '../../../src/adapters/worker-thread.js';

/** A thread that says `ready` after `readyAfterMs`, or never when null, and then idles. */
function thread(readyAfterMs: number | null): Worker {
  const ready = readyAfterMs === null ? '' : `setTimeout(() => parentPort.postMessage('ready'), ${readyAfterMs});`;
  return new Worker(`const { parentPort } = require('node:worker_threads'); ${ready} setInterval(() => undefined, 1000);`, { eval: true });
}

describe('waiting for a thread to start', () => {
  it('gives up a thread that has not started in time, and ends it', async () => {
    const worker = thread(null);
    const exited = once(worker, 'exit');
    await assert.rejects(
      whenStarted(worker, 'the test thread', (message: string) => (message === 'ready' ? true : undefined), 300),
      /the test thread did not start within 300 ms/,
    );
    await exited;
  });

  it('takes a thread that starts in time, and leaves it running', async () => {
    const worker = thread(50);
    try {
      assert.equal(await whenStarted(worker, 'the test thread', (message: string) => (message === 'ready' ? 'up' : undefined), 250), 'up');
      // Well past the limit, the thread still runs: the deadline went with the start.
      const exit = await Promise.race([once(worker, 'exit').then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('running'), 500))]);
      assert.equal(exit, 'running');
    } finally {
      await worker.terminate();
    }
  });
});
