import { InferenceSession, Tensor } from 'onnxruntime-node';
import { EmbedderBadResponseError } from '../errors.js';
import { prepareText } from '../text-limits.js';
import type { UseLiteModel } from '../use-lite-model.js';
import { SentencePieceTokeniser } from './sentence-piece.js';
import { readUseLiteFiles } from './use-lite-files.js';
import { buildUseLiteGraph, USE_LITE_GRAPH } from './use-lite-graph.js';

/**
 * Texts per model call. ONNX Runtime gains little from larger batches on a CPU, while every text in
 * a call is padded to the longest; texts are sorted by length first, so a call holds texts of
 * about the same length.
 */
const TEXTS_PER_RUN = 16;
/**
 * With 8-bit weights, one text per model call: the input's quantisation scale is the call's, so a
 * text's vector would otherwise depend on the texts beside it. Alone, a short text costs up to a
 * third more than in a batch of four; a scale per token, which would allow batches, cost more than
 * that in the extra steps it needs (measured here: 1.0-1.2 ms against 0.8-1.3 ms for a query).
 */
const TEXTS_PER_INT8_RUN = 1;

export interface UseLiteOnnxOptions {
  readonly maxTextChars: number;
  /** Weights of the dense layers as 8-bit integers (see `buildUseLiteGraph`). Default false. */
  readonly int8?: boolean;
  /** Threads ONNX Runtime may use for one call. */
  readonly intraOpThreads?: number;
}

/**
 * Universal Sentence Encoder Lite on ONNX Runtime's native CPU kernels: the bundled weights, turned
 * into an ONNX model in memory at load, with a tokeniser that gives the bundled one's ids. With
 * 32-bit weights its vectors match the TF.js runtime's (cosine 1 to within float rounding) at a
 * fraction of the cost; with 8-bit ones they are within cosine 0.998 of them at a smaller fraction.
 * `embedBatch` computes on the calling thread.
 */
export async function loadUseLiteOnnxModel(options: UseLiteOnnxOptions): Promise<UseLiteModel> {
  const files = await readUseLiteFiles();
  const { model, shape } = buildUseLiteGraph(files, { int8: options.int8 ?? false });
  const tokeniser = new SentencePieceTokeniser(files.vocabulary);
  const textsPerRun = options.int8 === true ? TEXTS_PER_INT8_RUN : TEXTS_PER_RUN;
  const session = await InferenceSession.create(model, {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: options.intraOpThreads ?? 1,
    interOpNumThreads: 1,
  });

  const run = async (pieces: readonly (readonly number[])[]): Promise<Float32Array[]> => {
    const tokens = Math.max(1, ...pieces.map((row) => row.length));
    const ids = new BigInt64Array(pieces.length * tokens);
    const mask = new Float32Array(pieces.length * tokens);
    pieces.forEach((row, index) => {
      row.forEach((id, position) => {
        ids[index * tokens + position] = BigInt(id);
        mask[index * tokens + position] = 1;
      });
    });
    const outputs = await session.run({
      [USE_LITE_GRAPH.tokenIds]: new Tensor('int64', ids, [pieces.length, tokens]),
      [USE_LITE_GRAPH.tokenMask]: new Tensor('float32', mask, [pieces.length, tokens]),
    });
    const data = outputs[USE_LITE_GRAPH.embeddings]?.data;
    if (!(data instanceof Float32Array) || data.length !== pieces.length * shape.dimensions) {
      throw new EmbedderBadResponseError(`the model gave no ${pieces.length}×${shape.dimensions} output`);
    }
    return pieces.map((_, index) => data.slice(index * shape.dimensions, (index + 1) * shape.dimensions));
  };

  return {
    backend: options.int8 === true ? 'onnxruntime-cpu-int8' : 'onnxruntime-cpu',
    async embedBatch(texts) {
      const pieces = texts.map((text) => tokeniser.encode(prepareText(text, options.maxTextChars)).slice(0, shape.maxTokens));
      const order = pieces.map((_, index) => index).sort((a, b) => (pieces[a]?.length ?? 0) - (pieces[b]?.length ?? 0));
      const vectors = new Array<Float32Array>(texts.length);
      for (let start = 0; start < order.length; start += textsPerRun) {
        const chunk = order.slice(start, start + textsPerRun);
        const results = await run(chunk.map((index) => pieces[index] ?? []));
        chunk.forEach((index, position) => {
          const vector = results[position];
          if (vector !== undefined) vectors[index] = vector;
        });
      }
      return vectors;
    },
    dispose() {
      void session.release();
    },
  };
}
