import { ValidationError } from './errors.js';

/**
 * The instants Engram stores and compares: those PostgreSQL holds and RFC 3339 writes with a
 * four-digit year. A year 0 or 10000 would be accepted here and refused by the database later.
 */
const EARLIEST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_MS = Date.parse('9999-12-31T23:59:59.999Z');

export function isStorableTime(date: Date): boolean {
  const time = date.getTime();
  return time >= EARLIEST_MS && time <= LATEST_MS;
}

/**
 * A client's RFC 3339 date-time (already checked for its form) as a Date. A leap second (":60"),
 * which JavaScript cannot represent, or an instant outside years 1 to 9999 (UTC) is refused.
 */
export function parseStorableTime(text: string, field: string): Date {
  const date = new Date(text);
  if (!isStorableTime(date)) {
    throw new ValidationError(`${field} must be a date-time from year 1 to 9999 (UTC), without a leap second`, { field });
  }
  return date;
}

/**
 * A client's exclusive upper bound (`created_before`) as a Date. Engram stores whole milliseconds
 * and a Date holds no finer: a bound finer than that is rounded up, never down, so that a memory of
 * the millisecond it falls in (which is before it) stays inside; within the storable instants.
 */
export function parseExclusiveUpperBound(text: string, field: string): Date {
  const date = parseStorableTime(text, field);
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  const finer = /[1-9]/.test(fraction.slice(3));
  return finer && date.getTime() < LATEST_MS ? new Date(date.getTime() + 1) : date;
}
