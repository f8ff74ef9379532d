/**
 * Context words near a candidate: many identifiers (a bare 9-digit SSN, a local phone number, a
 * random-looking token) are only told apart from ordinary numbers and words by what surrounds them.
 */

/** True when `pattern` matches within `window` characters before `start`. */
export function contextBefore(text: string, start: number, pattern: RegExp, window = 40): boolean {
  return pattern.test(text.slice(Math.max(0, start - window), start));
}

/** True when `pattern` matches within `window` characters after `end`. */
export function contextAfter(text: string, end: number, pattern: RegExp, window = 20): boolean {
  return pattern.test(text.slice(end, end + window));
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** True when the characters on both sides of the span are not letters, digits or underscores. */
export function isWordBounded(text: string, start: number, end: number): boolean {
  const before = start > 0 ? text[start - 1] : undefined;
  const after = end < text.length ? text[end] : undefined;
  return (before === undefined || !WORD_CHAR.test(before)) && (after === undefined || !WORD_CHAR.test(after));
}
