/**
 * Scales a vector to unit length, so that cosine similarity is a plain dot product.
 * An all-zero vector stays all zeros rather than becoming NaN.
 */
export function l2Normalise(values: ArrayLike<number>): Float32Array {
  // A typed array is copied as a block; Float32Array.from would walk it through its iterator.
  const vector = values instanceof Float32Array ? values.slice() : Float32Array.from(values);
  let sumOfSquares = 0;
  for (let i = 0; i < vector.length; i++) sumOfSquares += (vector[i] ?? 0) ** 2;
  if (sumOfSquares === 0) return vector;
  const scale = 1 / Math.sqrt(sumOfSquares);
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] ?? 0) * scale;
  return vector;
}
