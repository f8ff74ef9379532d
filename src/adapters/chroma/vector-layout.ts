import { createHash } from 'node:crypto';
import { VectorStoreError } from './errors.js';

/**
 * How an embedding is written to Chroma and how a distance Chroma returns becomes a cosine
 * similarity again.
 *
 * `owner-signed` appends a signature of the owner to every unit-length embedding: 64 signs drawn
 * from a hash of the owner key, with 3 times the weight of the embedding. Within one owner the
 * signature adds the same constant to every similarity, so their order, and the similarity itself
 * (see `similarity`), are unchanged. Between owners it sets vectors far apart, so the HNSW graph
 * of a bucket holds each owner's vectors close together: a query filtered on one owner walks that
 * owner's neighbourhood instead of most of the bucket, which is where a filtered query spent its
 * time. The owner filter stays on every bucket query: the signature is about speed, never about
 * who may read what.
 *
 * `plain` is the unit embedding as it is, the layout of stores created before signatures.
 */
export interface VectorLayout {
  readonly name: VectorLayoutName;
  /** The vector to write to Chroma (and to query with) for this owner. */
  vectorFor(embedding: Float32Array, ownerKey: string): Float32Array;
  /** The cosine similarity of the embeddings, from Chroma's cosine distance of the written vectors. */
  similarity(distance: number): number;
}

export type VectorLayoutName = 'plain' | 'owner-signed-1';

/** Where the marker collection records the layout of a store's vectors. */
export const VECTOR_LAYOUT_KEY = 'engram_vector_layout';

/** The layout new stores get. */
export const CURRENT_VECTOR_LAYOUT: VectorLayoutName = 'owner-signed-1';

const SIGNATURE_DIMENSIONS = 64;
/** The signature's squared length, against 1 for the embedding. */
const SIGNATURE_WEIGHT = 3;
const SIGNATURE_ENTRY = Math.sqrt(SIGNATURE_WEIGHT / SIGNATURE_DIMENSIONS);

const plain: VectorLayout = {
  name: 'plain',
  vectorFor: (embedding) => embedding,
  similarity: (distance) => clampSimilarity(1 - distance),
};

const ownerSigned: VectorLayout = {
  name: 'owner-signed-1',
  vectorFor(embedding, ownerKey) {
    const written = new Float32Array(embedding.length + SIGNATURE_DIMENSIONS);
    let squares = 0;
    for (const value of embedding) squares += value * value;
    const length = Math.sqrt(squares);
    if (length > 0) for (let index = 0; index < embedding.length; index += 1) written[index] = (embedding[index] ?? 0) / length;
    written.set(ownerSignature(ownerKey), embedding.length);
    return written;
  },
  // Both vectors have length √(1 + w) and share the signature, so Chroma's distance d is
  // 1 − (cos + w) / (1 + w).
  similarity: (distance) => clampSimilarity((1 - distance) * (1 + SIGNATURE_WEIGHT) - SIGNATURE_WEIGHT),
};

export function vectorLayout(name: unknown): VectorLayout {
  if (name === undefined || name === plain.name) return plain;
  if (name === ownerSigned.name) return ownerSigned;
  throw new VectorStoreError(`the vector store was written with layout "${String(name)}", which this version does not know`);
}

/**
 * ±√(w/64) per dimension, from a hash of the owner key that is independent of the bits that choose
 * the owner's bucket: owners of one bucket would otherwise share some signs.
 */
function ownerSignature(ownerKey: string): Float32Array {
  const bits = createHash('sha256').update(`engram-signature\u0000${ownerKey}`).digest();
  const signature = new Float32Array(SIGNATURE_DIMENSIONS);
  for (let index = 0; index < SIGNATURE_DIMENSIONS; index += 1) {
    const bit = ((bits[index >> 3] ?? 0) >> (index & 7)) & 1;
    signature[index] = bit === 1 ? SIGNATURE_ENTRY : -SIGNATURE_ENTRY;
  }
  return signature;
}

function clampSimilarity(value: number): number {
  return Math.min(1, Math.max(-1, value));
}
