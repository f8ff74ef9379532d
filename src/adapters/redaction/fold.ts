/**
 * Text as the detectors read it: pasted text writes identifiers with other characters than the
 * ASCII the patterns name (a card number grouped by no-break spaces, an SSN with en dashes, a phone
 * number in full-width digits, an email address cut by a zero-width space).
 */
export interface FoldedText {
  /** The text with those characters folded: what the detectors look through. */
  readonly text: string;
  /** Where the folded text's span [start, end) lies in the original text. */
  toOriginal(start: number, end: number): { start: number; end: number };
}

/** Any character that folding changes; a text without one is its own folding. */
const FOLDED = /[\u00A0\u00AD\u1680\u2000-\u2015\u2060-\u2064\u202F\u205F\u2212\u3000\uFE58\uFE63\uFEFF\uFF01-\uFF5E]/;

/** Invisible format characters: soft hyphen, zero-width spaces and joiners, marks of direction. */
function isDropped(code: number): boolean {
  return code === 0x00ad || (code >= 0x200b && code <= 0x200f) || (code >= 0x2060 && code <= 0x2064) || code === 0xfeff;
}

/** Spaces of other widths, the no-break spaces among them. */
function isSpace(code: number): boolean {
  return code === 0x00a0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x202f || code === 0x205f || code === 0x3000;
}

/** Hyphens, dashes and minus signs. */
function isDash(code: number): boolean {
  return (code >= 0x2010 && code <= 0x2015) || code === 0x2212 || code === 0xfe58 || code === 0xfe63;
}

/** Full-width forms of ASCII's printable characters, from U+FF01 (`！`) to U+FF5E (`～`). */
function isFullWidth(code: number): boolean {
  return code >= 0xff01 && code <= 0xff5e;
}

const FULL_WIDTH_OFFSET = 0xfee0;

/** What one code unit folds to: itself, another, or nothing. */
function foldedUnit(text: string, index: number): string {
  const code = text.charCodeAt(index);
  if (isDropped(code)) return '';
  if (isSpace(code)) return ' ';
  if (isDash(code)) return '-';
  if (isFullWidth(code)) return String.fromCharCode(code - FULL_WIDTH_OFFSET);
  return text.charAt(index);
}

/**
 * Folds spaces to ` `, dashes to `-`, full-width ASCII to ASCII, and drops invisible format
 * characters. Each character is folded alone (code units outside these ranges pass as they are,
 * surrogate pairs included), so a span of the folded text maps back to one of the original that
 * holds the same characters and the dropped ones between them.
 */
export function foldForDetection(text: string): FoldedText {
  if (!FOLDED.test(text)) return { text, toOriginal: (start, end) => ({ start, end }) };
  let folded = '';
  // The original index of each folded code unit, and one past the last.
  const origins: number[] = [];
  for (let index = 0; index < text.length; index += 1) {
    const replacement = foldedUnit(text, index);
    if (replacement === '') continue;
    folded += replacement;
    origins.push(index);
  }
  origins.push(text.length);
  return {
    text: folded,
    toOriginal: (start, end) => ({
      start: origins[start] ?? text.length,
      end: end === 0 ? (origins[0] ?? 0) : (origins[end - 1] ?? text.length - 1) + 1,
    }),
  };
}
