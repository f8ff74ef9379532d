import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { BACKGROUND_NICENESS } from '../../../src/adapters/cpu-priority.js';
import { Worker } from 'node:worker_threads';
import { createUseLiteEmbedder } from '../../../src/adapters/embedding/use-lite-embedder.js';
import { USE_LITE_MAX_TEXT_CHARS } from '../../../src/adapters/embedding/use-lite-model.js';
import { startUseLiteThread, startUseLiteWorkerPool } from '../../../src/adapters/embedding/use-lite-worker-pool.js';
import type { Embedder } from '../../../src/ports/embedder.js';
import { isDomainError } from '../../../src/domain/errors.js';
import { waitFor } from '../../support/free-port.js';
import { silentLogger } from '../../support/logger.js';
import { countedRestarts } from '../../support/restart-counts.js';
import { describeEmbedderContract } from './embedder-contract.js';
import { cosine } from './vector-math.js';

let inThread: Embedder | null = null;
let inWorkers: Embedder | null = null;
async function workerEmbedder(): Promise<Embedder> {
  inWorkers ??= await createUseLiteEmbedder({ logger: silentLogger(), threads: 2 });
  return inWorkers;
}
after(async () => {
  await Promise.all([inThread?.close(), inWorkers?.close()]);
});

describeEmbedderContract('the USE-Lite embedder in worker threads', {
  shared: workerEmbedder,
  fresh: () => createUseLiteEmbedder({ logger: silentLogger(), threads: 1 }),
});

describe('the USE-Lite embedder in worker threads', () => {
  before(async () => {
    inThread = await createUseLiteEmbedder({ logger: silentLogger() });
    await workerEmbedder();
  });

  it('gives the same vectors as the model on the calling thread', async () => {
    const texts = ['I adopted a golden retriever named Biscuit', 'The meeting moved to Tuesday', ''];
    const [here, there] = await Promise.all([inThread?.embed(texts), inWorkers?.embed(texts)]);
    assert.ok(here && there);
    texts.forEach((_, i) => {
      const a = here[i];
      const b = there[i];
      assert.ok(a && b && cosine(a, b) > 0.9999, `text ${i}`);
    });
  });

  it('gives 8 concurrent callers their own vectors, in order', async () => {
    const calls = Array.from({ length: 8 }, (_, i) => [`question ${i} about the calendar`, `answer ${i}`]);
    const expected = await inThread?.embed(calls.flat());
    const results = await Promise.all(calls.map((texts) => inWorkers?.embed(texts)));
    assert.ok(expected);
    results.flatMap((vectors) => vectors ?? []).forEach((vector, i) => {
      const reference = expected[i];
      assert.ok(reference && cosine(vector, reference) > 0.9999, `text ${i}`);
    });
    assert.equal(results.flatMap((vectors) => vectors ?? []).length, 16);
  });

  it('keeps the event loop free while the model computes', async () => {
    const texts = Array.from({ length: 64 }, (_, i) => `a sentence of moderate length, number ${i}, about little`);
    let longestGapMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 5);
    const began = performance.now();
    await inWorkers?.embed(texts);
    const tookMs = performance.now() - began;
    clearInterval(ticker);
    // on the calling thread the loop would stall for the whole call
    assert.ok(longestGapMs < tookMs, `longest gap ${Math.round(longestGapMs)} ms of a ${Math.round(tookMs)} ms call`);
  });

  it("runs a background embedder's threads at a lower priority, and only those", async () => {
    const mainThreadNice = getPriority();
    const lowered = (): number[] => threadsNiceAtLeast(BACKGROUND_NICENESS);
    const before = lowered();
    const foreground = await createUseLiteEmbedder({ logger: silentLogger(), threads: 1 });
    let background: Embedder | null = null;
    try {
      assert.deepEqual(lowered(), before, "a foreground embedder's thread keeps its priority");
      background = await createUseLiteEmbedder({ logger: silentLogger(), threads: 1, background: true });
      const [inFront, behind] = await Promise.all([foreground.embed(['a text']), background.embed(['a text'])]);
      assert.ok(lowered().length > before.length, 'the background embedding thread runs at the lower priority');
      assert.equal(getPriority(), mainThreadNice, 'the main thread keeps its priority');
      assert.ok(inFront[0] && behind[0] && cosine(inFront[0], behind[0]) > 0.9999, 'the same vectors');
    } finally {
      await Promise.all([foreground.close(), background?.close()]);
    }
  });
});

/** This process's threads whose nice value is `niceness` or more (on Linux each thread has its own). */
function threadsNiceAtLeast(niceness: number): number[] {
  return readdirSync('/proc/self/task')
    .map(Number)
    .filter((tid) => {
      try {
        return getPriority(tid) >= niceness;
      } catch {
        return false; // ended meanwhile
      }
    });
}

describe('a pool of model threads', () => {
  const ONE_THREAD = { threads: 1, runtime: 'onnx-int8', maxTextChars: USE_LITE_MAX_TEXT_CHARS, niceness: 0, logger: silentLogger() } as const;

  it("fails a batch the model fails on as the model's failure, as on the calling thread, not as an outage", async () => {
    const pool = await startUseLiteWorkerPool(ONE_THREAD);
    try {
      // Not a text: the model itself throws on it, every time.
      const notText = 42 as unknown as string;
      await assert.rejects(pool.embedBatch([notText]), (error: unknown) => {
        assert.ok(isDomainError(error));
        assert.equal(error.code, 'embedder_failed');
        assert.equal(error.retryable, false);
        return true;
      });
      const [vector] = await pool.embedBatch(['the thread goes on']);
      assert.equal(vector?.length, 512);
    } finally {
      await pool.close();
    }
  });

  it('starts a thread that exits again, through failed starts, and fails calls while none runs', async () => {
    const { counted, counts } = countedRestarts();
    const loaded: Worker[] = [];
    let startsToFail = 0;
    let failedStarts = 0;
    const pool = await startUseLiteWorkerPool({
      ...ONE_THREAD,
      supervision: { timing: { firstDelayMs: 20, maxDelayMs: 40 }, counts },
      startThread: (data) => {
        if (startsToFail === 0) {
          const worker = startUseLiteThread(data);
          loaded.push(worker);
          return worker;
        }
        startsToFail -= 1;
        failedStarts += 1;
        // A thread that cannot load the model says so, as one would on a broken install.
        return new Worker(
          `require('node:worker_threads').parentPort.postMessage({ type: 'failed', message: 'no model here' })`,
          { eval: true },
        );
      },
    });
    try {
      const [before] = await pool.embedBatch(['a text before the thread exits']);
      assert.equal(before?.length, 512);

      startsToFail = 2;
      const inFlight = pool.embedBatch(Array.from({ length: 200 }, (_, i) => `text ${i} `.repeat(200)));
      await loaded[0]?.terminate();
      await assert.rejects(inFlight, { code: 'dependency_unavailable' });
      await assert.rejects(pool.embedBatch(['while no thread runs']), { code: 'dependency_unavailable' });

      await waitFor(
        () => pool.embedBatch(['a text after']).then(() => true, () => false),
        30_000,
        'a thread started again',
      );
      const [after] = await pool.embedBatch(['a text before the thread exits']);
      assert.deepEqual(after, before);
      assert.deepEqual(counted, { stopped: 1, startFailed: 2 });
      assert.equal(failedStarts, 2);
      assert.equal(loaded.length, 2, 'the first thread, then one started again after two failed starts');
    } finally {
      await pool.close();
    }
  });
});
