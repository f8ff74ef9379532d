// Conversions between what the drivers return and the domain's types.
import { DomainError } from '../../domain/errors.js';
import { sketchOf } from '../../domain/vector-sketch.js';
import { float32FromBytes } from '../../support/float32-bytes.js';

function unexpected(expected: string, value: unknown): DomainError {
  return new DomainError('internal', 'unexpected_column_type', `expected ${expected} from the database, got ${typeof value}`);
}

/** bigint and count columns: node-postgres returns strings, PGlite numbers. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' || typeof value === 'bigint') return Number(value);
  throw unexpected('a number', value);
}

/** A time whose offset has seconds, as a zone's old local mean time gives (`-04:56:02`). */
const OFFSET_WITH_SECONDS = /^(.+)([+-])(\d{2}):(\d{2}):(\d{2})$/;

/**
 * Timestamps: drivers give Dates, but a statement that builds JSON gives text in the server's time
 * zone, whose offset JavaScript cannot parse when it has seconds (a memory of 1850, on a server
 * set to America/New_York).
 */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value !== 'string') throw unexpected('a timestamp', value);
  const date = new Date(value);
  const withSeconds = Number.isNaN(date.getTime()) ? OFFSET_WITH_SECONDS.exec(value) : null;
  if (withSeconds === null) return date;
  const [, local, sign, hours, minutes, seconds] = withSeconds;
  const offsetMs = (Number(hours) * 3_600 + Number(minutes) * 60 + Number(seconds)) * 1_000;
  return new Date(new Date(`${local ?? ''}Z`).getTime() - (sign === '-' ? -offsetMs : offsetMs));
}

export function toDateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}

/** A vector's sketch (see sketchOf) as base64 text, written like a vector: `decode($n, 'base64')`. */
export function sketchToBase64(embedding: Float32Array): string {
  const sketch = sketchOf(embedding);
  return Buffer.from(sketch.buffer, sketch.byteOffset, sketch.byteLength).toString('base64');
}

/** A sketch column (base64 text, see sketchToBase64) that may be absent: null gives null. */
export function base64ToSketchOrNull(value: unknown): Uint8Array | null {
  return value === null || value === undefined ? null : base64Bytes(value);
}

/** A vector column that may be absent: null (or a column not read) gives null. */
export function base64ToEmbeddingOrNull(value: unknown): Float32Array | null {
  return value === null || value === undefined ? null : base64ToEmbedding(value);
}

/**
 * Vectors are stored as bytea of Float32 little-endian, whatever the platform's byte order, and
 * travel as base64 text: write `decode($n, 'base64')` of `float32ToBase64`, read
 * `encode(embedding, 'base64')` into this. PGlite converts bytea to and from hex in JavaScript,
 * about 0.45 ms per 512-dimension vector read; base64 text costs a twentieth of that, and
 * node-postgres no more than bytea.
 */
export function base64ToEmbedding(value: unknown): Float32Array {
  return float32FromBytes(base64Bytes(value));
}

/** The bytes of a base64 column. */
function base64Bytes(value: unknown): Buffer {
  if (typeof value !== 'string') throw unexpected('base64 text', value);
  // Postgres breaks base64 into lines, which the decoder skips.
  return Buffer.from(value, 'base64');
}
