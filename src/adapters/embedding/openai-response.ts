import { EmbedderBadResponseError } from './errors.js';
import { isRecord } from './json-record.js';
import { l2Normalise } from '../../domain/vectors.js';

/**
 * The unit vectors of an OpenAI-style `/v1/embeddings` answer, in the order of the inputs
 * (servers may list `data` in any order: `index` says which input a row belongs to).
 * `dimensions` is null when it is not known yet, which only the start-up probe does.
 */
export function parseEmbeddingsResponse(body: unknown, count: number, dimensions: number | null): Float32Array[] {
  const data = isRecord(body) ? body['data'] : undefined;
  if (!Array.isArray(data)) throw new EmbedderBadResponseError('no data array');
  if (data.length !== count) throw new EmbedderBadResponseError(`${data.length} embeddings for ${count} inputs`);

  const vectors = new Array<Float32Array | undefined>(count).fill(undefined);
  const expected = dimensions ?? embeddingOf(data[0])?.length;
  for (const row of data) {
    const index = isRecord(row) ? row['index'] : undefined;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new EmbedderBadResponseError('an embedding without a valid index');
    }
    if (vectors[index] !== undefined) throw new EmbedderBadResponseError(`index ${index} appears twice`);
    const embedding = embeddingOf(row);
    if (embedding === undefined) throw new EmbedderBadResponseError('an embedding that is not a list of numbers');
    if (embedding.length === 0 || embedding.length !== expected) {
      throw new EmbedderBadResponseError(`an embedding of ${embedding.length} dimensions, expected ${expected}`);
    }
    vectors[index] = l2Normalise(embedding);
  }
  return vectors.filter((vector): vector is Float32Array => vector !== undefined);
}

function embeddingOf(row: unknown): number[] | undefined {
  const embedding = isRecord(row) ? row['embedding'] : undefined;
  if (!Array.isArray(embedding)) return undefined;
  return embedding.every((value) => typeof value === 'number' && Number.isFinite(value))
    ? (embedding as number[])
    : undefined;
}
