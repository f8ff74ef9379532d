import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobHandedBackError } from '../../../src/domain/errors.js';
import type { WriteJob } from '../../../src/ports/job-queue.js';
import { JobCoalescer } from '../../../src/worker/job-coalescer.js';

/** A run that waits until the test releases it, recording what it was given. */
function gatedRuns(): { runs: string[][]; release: (error?: Error) => void; run: (job: WriteJob) => Promise<void> } {
  const runs: string[][] = [];
  const gates: Array<(error?: Error) => void> = [];
  return {
    runs,
    release: (error) => gates.shift()?.(error),
    run: (job) => {
      runs.push([...job.taskIds]);
      return new Promise<void>((resolve, reject) => gates.push((error) => (error === undefined ? resolve() : reject(error))));
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('JobCoalescer', () => {
  it('runs a lone job at once, and merges the jobs that wait meanwhile up to the task limit', async () => {
    const gated = gatedRuns();
    const coalescer = new JobCoalescer({ run: gated.run, maxTasks: 3, concurrency: 1 });
    const first = coalescer.process({ taskIds: ['a'] });
    const waiting = [['b'], ['c', 'd'], ['e'], ['f']].map((taskIds) => coalescer.process({ taskIds }));
    assert.deepEqual(gated.runs, [['a']]);

    gated.release();
    await first;
    await settle();
    assert.deepEqual(gated.runs, [['a'], ['b', 'c', 'd']]);
    gated.release();
    await Promise.all(waiting.slice(0, 2));
    await settle();
    assert.deepEqual(gated.runs, [['a'], ['b', 'c', 'd'], ['e', 'f']]);
    gated.release();
    await Promise.all(waiting);
  });

  it('fails exactly the jobs of a failed run, so the queue retries those', async () => {
    const gated = gatedRuns();
    const coalescer = new JobCoalescer({ run: gated.run, maxTasks: 10, concurrency: 1 });
    const first = coalescer.process({ taskIds: ['a'] });
    const merged = [coalescer.process({ taskIds: ['b'] }), coalescer.process({ taskIds: ['c'] })];
    gated.release(new Error('chroma is away'));
    await assert.rejects(first, /chroma is away/);
    await settle();
    gated.release();
    await Promise.all(merged);
    assert.deepEqual(gated.runs, [['a'], ['b', 'c']]);
  });

  it('hands back the jobs not started when asked, and any that come later, while the run under way finishes', async () => {
    const gated = gatedRuns();
    const coalescer = new JobCoalescer({ run: gated.run, maxTasks: 10, concurrency: 1 });
    const running = coalescer.process({ taskIds: ['a'] });
    const waiting = [coalescer.process({ taskIds: ['b'] }), coalescer.process({ taskIds: ['c'] })];
    coalescer.handBackWaiting();
    for (const job of [...waiting, coalescer.process({ taskIds: ['d'] })]) await assert.rejects(job, JobHandedBackError);
    gated.release();
    await running;
    await settle();
    assert.deepEqual(gated.runs, [['a']]);
  });

  it('keeps at most `concurrency` runs going, and takes a job larger than the limit alone', async () => {
    const gated = gatedRuns();
    const coalescer = new JobCoalescer({ run: gated.run, maxTasks: 2, concurrency: 2 });
    const jobs = [['a', 'b', 'c'], ['d'], ['e']].map((taskIds) => coalescer.process({ taskIds }));
    assert.deepEqual(gated.runs, [['a', 'b', 'c'], ['d']]);
    gated.release();
    await jobs[0];
    await settle();
    assert.deepEqual(gated.runs, [['a', 'b', 'c'], ['d'], ['e']]);
    gated.release();
    gated.release();
    await Promise.all(jobs);
  });

  it('with a linger, lets jobs gather beside a busy run until the run is full or the wait is over', async () => {
    const gated = gatedRuns();
    const coalescer = new JobCoalescer({ run: gated.run, maxTasks: 3, concurrency: 2, lingerMs: 40 });
    const jobs = [coalescer.process({ taskIds: ['a'] })];
    assert.deepEqual(gated.runs, [['a']], 'a lone job runs at once');
    jobs.push(coalescer.process({ taskIds: ['b'] }), coalescer.process({ taskIds: ['c'] }));
    await settle();
    assert.deepEqual(gated.runs, [['a']], 'b and c wait for more');
    jobs.push(coalescer.process({ taskIds: ['d'] }));
    assert.deepEqual(gated.runs, [['a'], ['b', 'c', 'd']], 'a full run starts at once');
    gated.release();
    await settle();
    jobs.push(coalescer.process({ taskIds: ['e'] }));
    assert.deepEqual(gated.runs, [['a'], ['b', 'c', 'd']]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(gated.runs, [['a'], ['b', 'c', 'd'], ['e']], 'e starts once it has waited long enough');
    gated.release();
    gated.release();
    await Promise.all(jobs);
  });

  it('with a spacing, starts runs that far apart unless full, and a first job at once', async () => {
    const gated = gatedRuns();
    const coalescer = new JobCoalescer({ run: gated.run, maxTasks: 3, concurrency: 1, spacingMs: 40 });
    const jobs = [coalescer.process({ taskIds: ['a'] })];
    assert.deepEqual(gated.runs, [['a']], 'a job after a quiet spell runs at once');
    gated.release();
    await jobs[0];
    jobs.push(coalescer.process({ taskIds: ['b'] }));
    await settle();
    assert.deepEqual(gated.runs, [['a']], 'b waits out the spacing though no run is busy');
    jobs.push(coalescer.process({ taskIds: ['c'] }));
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(gated.runs, [['a'], ['b', 'c']], 'b and c start together once the spacing is over');
    gated.release();
    await Promise.all(jobs);
    jobs.push(coalescer.process({ taskIds: ['d', 'e'] }), coalescer.process({ taskIds: ['f'] }));
    assert.deepEqual(gated.runs, [['a'], ['b', 'c'], ['d', 'e', 'f']], 'a full run does not wait');
    gated.release();
    await Promise.all(jobs);
  });
});
