import { ValidationError } from '../../domain/errors.js';

/**
 * A finite number as a JSON float (`3.0`, `1e+21`), never as an integer. Chroma 1.0 keeps an
 * integer apart from a float: it compares an integer it stored against a fractional bound by
 * truncating the bound (`2 < 2.6` is false), wants every list of `$in`/`$nin` to hold one of the
 * two, and takes no integer beyond 64 bits. Engram writes every number as a float, in records and
 * in filters alike.
 */
export function floatText(value: number, name: string): string {
  if (!Number.isFinite(value)) throw new ValidationError(`${name} must be a finite number`);
  const text = JSON.stringify(value);
  // Large magnitudes already print with an exponent, which JSON reads as a float.
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

/** JSON of a value built of objects, arrays, strings, booleans and numbers, every number a float. */
export function jsonWithFloats(value: unknown, name: string): string {
  if (typeof value === 'number') return floatText(value, name);
  if (Array.isArray(value)) return `[${value.map((item: unknown) => jsonWithFloats(item, name)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}:${jsonWithFloats(item, name)}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}
