import { ValidationError } from '../domain/errors.js';

/** JSON nested deeper than this is refused before any handler sees it. */
export const MAX_JSON_DEPTH = 16;

// Postgres text cannot hold NUL, and a lone surrogate is not text at all: refuse both up front
// rather than fail deep in a store.
function checkString(value: string, path: string): void {
  if (!value.isWellFormed()) throw new ValidationError(`${path} contains an unpaired surrogate (invalid Unicode)`);
  if (value.includes('\u0000')) throw new ValidationError(`${path} contains a NUL character`);
}

/** Walks a parsed JSON value and refuses excessive nesting and strings that are not valid text. */
export function assertSafeJson(value: unknown, path = 'body', depth = 0): void {
  if (depth > MAX_JSON_DEPTH) throw new ValidationError(`${path} is nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (typeof value === 'string') {
    checkString(value, path);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => assertSafeJson(item, `${path}[${index}]`, depth + 1));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      checkString(key, `${path} key`);
      assertSafeJson(child, `${path}.${key}`, depth + 1);
    }
  }
}
