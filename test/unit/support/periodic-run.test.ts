import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PeriodicRun } from '../../../src/support/periodic-run.js';

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(1);
}

/** Counts runs of a fake piece of work that takes `ms`, and whether two were ever under way at once. */
class Runs {
  underWay = 0;
  count = 0;
  overlapped = false;

  constructor(private readonly ms: number) {}

  /** One run; resolves to its number, counted from 1. */
  async run(): Promise<number> {
    this.underWay += 1;
    this.overlapped ||= this.underWay > 1;
    const run = ++this.count;
    await sleep(this.ms);
    this.underWay -= 1;
    return run;
  }
}

describe('PeriodicRun', () => {
  it('runs again and again, never two at once, reporting each result and each failure', async () => {
    const runs = new Runs(5);
    const results: number[] = [];
    const failures: string[] = [];
    const schedule = new PeriodicRun({
      intervalMs: 1,
      run: async () => {
        const run = await runs.run();
        if (run === 2) throw new Error('store down');
        return run;
      },
      onDone: (run) => results.push(run),
      onFailed: (error) => failures.push((error as Error).message),
    });
    schedule.start();
    schedule.start();
    await until(() => results.length >= 4);
    await schedule.stop();
    assert.equal(runs.overlapped, false);
    assert.deepEqual(results.slice(0, 4), [1, 3, 4, 5]);
    assert.deepEqual(failures, ['store down']);
    const afterStop = runs.count;
    await sleep(30);
    assert.equal(runs.count, afterStop, 'no run after stop');
  });

  it('goes on running when a report throws, leaving no rejection unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const runs = new Runs(1);
      const schedule = new PeriodicRun({
        intervalMs: 1,
        run: () => runs.run(),
        onDone: (run) => {
          if (run === 1) throw new Error('report failed');
        },
        onFailed: () => undefined,
      });
      schedule.start();
      await until(() => runs.count >= 3);
      await schedule.stop();
      await sleep(10);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('starts no second run when started again while one is under way', async () => {
    const runs = new Runs(20);
    const schedule = new PeriodicRun({ intervalMs: 1, run: () => runs.run(), onFailed: (error) => assert.fail(String(error)) });
    schedule.start();
    await until(() => runs.underWay === 1);
    schedule.start();
    await until(() => runs.count >= 3);
    await schedule.stop();
    assert.equal(runs.overlapped, false);
  });

  it('times the next run from the end of the last', async () => {
    const startedAt: number[] = [];
    const endedAt: number[] = [];
    const schedule = new PeriodicRun({
      intervalMs: 30,
      run: async () => {
        startedAt.push(performance.now());
        await sleep(40);
        endedAt.push(performance.now());
      },
      onFailed: (error) => assert.fail(String(error)),
    });
    schedule.start();
    await until(() => startedAt.length >= 2);
    await schedule.stop();
    const [firstEnd] = endedAt;
    const [, secondStart] = startedAt;
    assert.ok(firstEnd !== undefined && secondStart !== undefined);
    assert.ok(secondStart - firstEnd >= 25, `the second run started ${secondStart - firstEnd} ms after the first ended`);
  });

  it('waits for the run under way when stopped, and never starts again', async () => {
    let started = 0;
    let finished = false;
    const schedule = new PeriodicRun({
      intervalMs: 1,
      run: async () => {
        started += 1;
        await sleep(50);
        finished = true;
      },
      onFailed: (error) => assert.fail(String(error)),
    });
    schedule.start();
    await until(() => started === 1);
    await schedule.stop();
    assert.equal(finished, true);
    schedule.start();
    await sleep(20);
    assert.equal(started, 1);
    await schedule.stop();
  });
});
