/**
 * A vector's sketch: its direction in 8 bits a dimension, a quarter of its size. Kept beside each
 * memory in the metadata store, it lets a search rank a small scope's memories by meaning without
 * asking the vector store (see MemorySearch). Layout: the step between two levels (float32,
 * little-endian), then one signed byte a dimension, of the vector scaled to unit length. The
 * cosine it gives is within about 0.001 of the exact one for the bundled encoder's vectors.
 */

import { l2Normalise } from './vectors.js';

const SCALE_BYTES = 4;
const LEVELS = 127;

/** The sketch of a vector; a zero vector's is all zeros. */
export function sketchOf(vector: Float32Array): Uint8Array {
  const unit = l2Normalise(vector);
  let largest = 0;
  for (let index = 0; index < unit.length; index += 1) largest = Math.max(largest, Math.abs(unit[index] ?? 0));
  const sketch = new Uint8Array(SCALE_BYTES + unit.length);
  if (largest === 0) return sketch;
  const step = largest / LEVELS;
  new DataView(sketch.buffer).setFloat32(0, step, true);
  const levels = new Int8Array(sketch.buffer, SCALE_BYTES);
  for (let index = 0; index < unit.length; index += 1) {
    levels[index] = Math.round((unit[index] ?? 0) / step);
  }
  return sketch;
}

/** A query ready to be compared with sketches: scaled to unit length. */
export interface SketchQuery {
  readonly unit: Float32Array;
}

/** Null for a zero vector, which has no direction to compare. */
export function sketchQueryOf(vector: Float32Array): SketchQuery | null {
  const unit = l2Normalise(vector);
  return unit.some((value) => value !== 0) ? { unit } : null;
}

/**
 * Cosine similarity of the query to the sketched vector; 0 for a sketch of another dimension
 * (a vector of an earlier model never ranks by accident).
 */
export function sketchSimilarity(query: SketchQuery, sketch: Uint8Array): number {
  const { unit } = query;
  if (sketch.byteLength !== SCALE_BYTES + unit.length) return 0;
  const step = new DataView(sketch.buffer, sketch.byteOffset, SCALE_BYTES).getFloat32(0, true);
  const levels = new Int8Array(sketch.buffer, sketch.byteOffset + SCALE_BYTES, unit.length);
  let dot = 0;
  for (let index = 0; index < unit.length; index += 1) {
    dot += (unit[index] ?? 0) * (levels[index] ?? 0);
  }
  return Math.max(-1, Math.min(1, dot * step));
}
