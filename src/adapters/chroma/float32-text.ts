/**
 * JSON text for the numbers of a Float32Array, written digit by digit into a byte buffer.
 *
 * Each number gets nine significant digits (trailing zeros dropped), which is always enough to
 * read back the same 32-bit float: nine digits are within 5e-9 of the value relative to it, and
 * the nearest other 32-bit float is more than 2.9e-8 away. Chroma reads query vectors as 32-bit
 * floats, so it receives exactly the vector it would get from the shortest digits that
 * `Float32Array.prototype.join` writes. Those cost V8 a shortest-digit search per number, about
 * 0.17 ms of the event loop for one 576-number query; this costs about 0.03 ms.
 */

const SIGNIFICANT_DIGITS = 9;
/** 10^8 ≤ digits < 10^9: nine significant digits as one integer. */
const LOWEST_DIGITS = 10 ** (SIGNIFICANT_DIGITS - 1);
const DIGITS_BOUND = 10 ** SIGNIFICANT_DIGITS;
/** A number's longest text: sign, nine digits and a point, `e`, exponent sign and three digits. */
const MAX_NUMBER_BYTES = 16;

const LOG10_OF_2 = Math.log10(2);

const MINUS = 0x2d;
const POINT = 0x2e;
const COMMA = 0x2c;
const ZERO = 0x30;
const EXPONENT = 0x65;

/** 10^k for k from -60 to 60, each read from its decimal text, so as exact as a double allows. */
const POWER_OFFSET = 60;
const POWERS_OF_TEN = Float64Array.from({ length: 2 * POWER_OFFSET + 1 }, (_, index) => Number(`1e${index - POWER_OFFSET}`));

function powerOfTen(exponent: number): number {
  return POWERS_OF_TEN[exponent + POWER_OFFSET] ?? 10 ** exponent;
}

/**
 * The numbers of `vector` as JSON numbers joined by commas (no brackets). Throws a RangeError
 * for a value that is not finite: JSON has no text for it.
 */
export function float32ArrayText(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(Math.max(1, vector.length * (MAX_NUMBER_BYTES + 1)));
  const bits = new Uint32Array(vector.buffer, vector.byteOffset, vector.length);
  let at = 0;
  for (let index = 0; index < vector.length; index += 1) {
    if (index > 0) bytes[at++] = COMMA;
    at = writeNumber(bytes, at, vector[index] ?? 0, ((bits[index] ?? 0) >>> 23) & 0xff);
  }
  return bytes.toString('latin1', 0, at);
}

/** `binaryExponent` is the value's biased exponent field, which tells its power of ten within one. */
function writeNumber(bytes: Buffer, start: number, value: number, binaryExponent: number): number {
  if (!Number.isFinite(value)) throw new RangeError('JSON has no text for a number that is not finite');
  let at = start;
  if (value === 0) {
    bytes[at++] = ZERO;
    return at;
  }
  if (value < 0) bytes[at++] = MINUS;
  const magnitude = Math.abs(value);
  // A normal value lies in [2^(e - 127), 2^(e - 126)): its power of ten is this or the next one.
  // A subnormal one (field 0) has fewer bits of precision and asks log10.
  let exponent = binaryExponent === 0 ? Math.floor(Math.log10(magnitude)) : Math.floor((binaryExponent - 127) * LOG10_OF_2);
  let rounded = Math.round(magnitude * powerOfTen(SIGNIFICANT_DIGITS - 1 - exponent));
  // log10 may land one off near a power of ten, and rounding may carry into a tenth digit.
  if (rounded >= DIGITS_BOUND) {
    exponent += 1;
    rounded = Math.round(magnitude * powerOfTen(SIGNIFICANT_DIGITS - 1 - exponent));
  } else if (rounded < LOWEST_DIGITS) {
    exponent -= 1;
    rounded = Math.round(magnitude * powerOfTen(SIGNIFICANT_DIGITS - 1 - exponent));
  }
  if (rounded >= DIGITS_BOUND) {
    exponent += 1;
    rounded = LOWEST_DIGITS;
  }
  // Below 2^31: integer arithmetic from here on.
  let digits = rounded | 0;
  let kept = SIGNIFICANT_DIGITS;
  while (kept > 1 && digits % 10 === 0) {
    digits = (digits / 10) | 0;
    kept -= 1;
  }
  // d.ddd…: the first digit, then the point and the others when there are any.
  const end = at + kept + (kept > 1 ? 1 : 0);
  for (let position = end - 1; position > at; position -= 1) {
    if (position === at + 1) {
      bytes[position] = POINT;
      continue;
    }
    bytes[position] = ZERO + (digits % 10);
    digits = (digits / 10) | 0;
  }
  bytes[at] = ZERO + digits;
  at = end;
  if (exponent !== 0) {
    bytes[at++] = EXPONENT;
    if (exponent < 0) bytes[at++] = MINUS;
    // A 32-bit float's exponent has two digits at most (1e-45 to 3.4e38).
    const size = Math.abs(exponent);
    if (size >= 10) bytes[at++] = ZERO + ((size / 10) | 0);
    bytes[at++] = ZERO + (size % 10);
  }
  return at;
}
