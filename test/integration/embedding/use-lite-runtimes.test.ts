import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EmbeddingsModel } from '@energetic-ai/embeddings';
import fc from 'fast-check';
import { SentencePieceTokeniser } from '../../../src/adapters/embedding/onnx/sentence-piece.js';
import { readUseLiteFiles } from '../../../src/adapters/embedding/onnx/use-lite-files.js';
import { loadUseLiteModel } from '../../../src/adapters/embedding/use-lite-loader.js';
import type { UseLiteModel } from '../../../src/adapters/embedding/use-lite-model.js';
import { cosine } from './vector-math.js';

/** Texts of every shape the tokeniser and the encoder meet: chat, numbers, links, scripts, emoji, noise. */
const TEXTS = [
  "What is my dog's name?",
  'I adopted a golden retriever named Biscuit last spring, and he loves the beach.',
  'hi',
  ' ',
  'a',
  'Caroline went to the LGBTQ support group yesterday :) and felt welcomed :(',
  'Visit https://example.org/path?q=1 or mail me at jane.doe@example.com by 5:30pm.',
  'Call +1 (555) 010-9999 — or text 555-0100; my card ends 4242 4242 4242 4242.',
  'Naïve café résumé: ﬁve ﬂights, ½ price, Ｆｕｌｌｗｉｄｔｈ text and ① circled.',
  '東京に住んでいます。 Я живу в Москве. أنا أعيش في القاهرة. 🙂🐕🏖️ 👩‍👩‍👧',
  '\u{1F600}\u{1F600}\u{1F600} unknown ☃☃☃ runs ⸻ ⸻',
  'tabs\tand\nnewlines\r\nand   several   spaces',
  'The meeting moved to Tuesday at 10:00 in room B-12 (second floor).',
  'I have been learning to play the violin for three years, practising every evening after work.',
  'ALL CAPS SHOUTING AND numbers 1234567890 and 3.14159 and -42',
  'word '.repeat(200),
  'A long diary entry. '.repeat(40),
  'xyzzy'.repeat(30),
];

describe('the ONNX runtime of the bundled model', () => {
  let onnx: UseLiteModel;
  let onnxInt8: UseLiteModel;
  let tfjs: UseLiteModel;
  let tokeniser: SentencePieceTokeniser;
  let reference: EmbeddingsModel['tokenizer'];
  before(async () => {
    [onnx, onnxInt8, tfjs] = await Promise.all([
      loadUseLiteModel({ runtime: 'onnx' }),
      loadUseLiteModel({ runtime: 'onnx-int8' }),
      loadUseLiteModel({ runtime: 'tfjs' }),
    ]);
    const files = await readUseLiteFiles();
    tokeniser = new SentencePieceTokeniser(files.vocabulary);
    // The bundled tokeniser needs only the vocabulary; the graph is not used by `tokenizer`.
    reference = new EmbeddingsModel({
      vocabulary: files.vocabulary.map(([piece, score]) => [piece, score]),
      model: undefined as unknown as EmbeddingsModel['model'],
    }).tokenizer;
  });
  after(() => {
    onnx.dispose();
    onnxInt8.dispose();
    tfjs.dispose();
  });

  it('tokenises every fixed text exactly as the bundled tokeniser', () => {
    for (const text of TEXTS) assert.deepEqual(tokeniser.encode(text), reference.encode(text), text.slice(0, 40));
  });

  it('tokenises random text, including astral characters and lone surrogates, exactly as the bundled tokeniser', () => {
    const pieces = fc.constantFrom('the', ' ', ':', '://', ':)', '☃', '😀', '\uD800', 'é', 'ﬁ', '東京', 'ing', '\u2581');
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.array(pieces, { maxLength: 30 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(text, (input) => {
        assert.deepEqual(tokeniser.encode(input), reference.encode(input));
      }),
      { numRuns: 600 },
    );
  });

  it('gives the TF.js runtime’s vectors (cosine ≥ 0.9999) for texts alone and in one mixed-length batch', async () => {
    const batch = [...TEXTS, ...TEXTS.map((text, i) => `${i}: ${text}`)];
    const [fromOnnx, fromTfjs] = [await onnx.embedBatch(batch), await tfjs.embedBatch(batch)];
    assert.equal(fromOnnx.length, batch.length);
    let lowest = 1;
    batch.forEach((text, i) => {
      const a = fromOnnx[i];
      const b = fromTfjs[i];
      assert.ok(a && b, `no vector for text ${i}`);
      assert.equal(a.length, 512);
      lowest = Math.min(lowest, cosine(a, b));
      assert.ok(cosine(a, b) >= 0.9999, `text ${i} (${text.slice(0, 30)}): cosine ${cosine(a, b)}`);
    });
    for (const text of TEXTS.slice(0, 4)) {
      const [alone] = await onnx.embedBatch([text]);
      const [inBatch] = await tfjs.embedBatch([text]);
      assert.ok(alone && inBatch && cosine(alone, inBatch) >= 0.9999, text);
    }
    assert.ok(lowest >= 0.9999, `lowest cosine ${lowest}`);
  });

  it('gives vectors within cosine 0.997 of the TF.js runtime’s with 8-bit weights, alone and in a batch, that rank texts as the original does', async () => {
    const batch = [...TEXTS, ...TEXTS.map((text, i) => `${i}: ${text}`)];
    const [fromInt8, fromTfjs] = [await onnxInt8.embedBatch(batch), await tfjs.embedBatch(batch)];
    assert.equal(onnxInt8.backend, 'onnxruntime-cpu-int8');
    assert.equal(fromInt8.length, batch.length);
    batch.forEach((text, i) => {
      const a = fromInt8[i];
      const b = fromTfjs[i];
      assert.ok(a && b, `no vector for text ${i}`);
      assert.equal(a.length, 512);
      assert.ok(cosine(a, b) >= 0.997, `text ${i} (${text.slice(0, 30)}): cosine ${cosine(a, b)}`);
      assert.ok(Math.abs(cosine(a, a) - 1) < 1e-5, `text ${i} is not a unit vector`);
    });
    const [alone] = await onnxInt8.embedBatch([TEXTS[1] ?? '']);
    assert.ok(alone && fromInt8[1] && cosine(alone, fromInt8[1]) >= 0.9999, 'a text alone and in a batch differ');
    // The nearest text to a question is the same with either model.
    const question = "What is my dog's name?";
    const nearest = (vectors: Float32Array[], query: Float32Array): number => {
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      vectors.forEach((vector, index) => {
        const score = cosine(vector, query);
        if (index !== 0 && score > bestScore) [best, bestScore] = [index, score];
      });
      return best;
    };
    const [queryInt8] = await onnxInt8.embedBatch([question]);
    const [queryTfjs] = await tfjs.embedBatch([question]);
    assert.ok(queryInt8 && queryTfjs);
    assert.equal(nearest(fromInt8.slice(0, TEXTS.length), queryInt8), nearest(fromTfjs.slice(0, TEXTS.length), queryTfjs));
  });
});
