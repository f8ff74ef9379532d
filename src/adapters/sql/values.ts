// Conversions between what the drivers return and the domain's types.
import { DomainError } from '../../domain/errors.js';

function unexpected(expected: string, value: unknown): DomainError {
  return new DomainError('internal', 'unexpected_column_type', `expected ${expected} from the database, got ${typeof value}`);
}

/** bigint and count columns: node-postgres returns strings, PGlite numbers. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' || typeof value === 'bigint') return Number(value);
  throw unexpected('a number', value);
}

export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') return new Date(value);
  throw unexpected('a timestamp', value);
}

export function toDateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}

/** Vectors are stored as Float32 little-endian, whatever the platform's byte order. */
export function embeddingToBytes(embedding: Float32Array): Buffer {
  const bytes = Buffer.alloc(embedding.length * 4);
  for (let index = 0; index < embedding.length; index += 1) {
    bytes.writeFloatLE(embedding[index] ?? 0, index * 4);
  }
  return bytes;
}

export function bytesToEmbedding(value: unknown): Float32Array {
  if (!(value instanceof Uint8Array)) throw unexpected('bytea', value);
  // A driver's buffer may be a slice of a shared pool at any offset, so the floats are copied out.
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const embedding = new Float32Array(Math.floor(value.byteLength / 4));
  for (let index = 0; index < embedding.length; index += 1) {
    embedding[index] = view.getFloat32(index * 4, true);
  }
  return embedding;
}
