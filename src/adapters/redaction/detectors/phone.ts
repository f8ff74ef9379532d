/**
 * Phone numbers, from two sources:
 * - libphonenumber's matcher over the whole text (default region US), which finds numbers valid in
 *   their region's numbering plan, in any international or national format;
 * - our scan for digit groups in phone shape (optional +country code, optional (area code), groups
 *   split by single spaces, dots or dashes, optional extension). A group run is a phone number when
 *   it starts with + and libphonenumber finds it possible, when it has the North American 3-3-4
 *   shape, or, for the local formats no library can validate without knowing the country
 *   ("33 93 31", "0477 11 28 98"), when a phone word is close by ("call", "phone", "fax", "mobile"…).
 * Dates, times and plain numbers without a phone word stay untouched.
 */
import { findNumbers, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { DetectedEntity } from '../../../domain/pii.js';
import { contextAfter, contextBefore } from '../context.js';
import { matchAll, span } from '../span.js';

const CANDIDATE =
  /(?<![\p{L}\p{N}+\-./_:]|[\p{N}][ ])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,10}(?:[ .-]\d{1,8}){0,5}(?:[^\S\n]?(?:x|ext\.?|extension)[^\S\n]?\d{1,6})?(?![\p{L}\p{N}]|[.,-]\d|:\d| \d)/giu;
const NANP = /^(?:(?:\+?1|001)[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?:\D+\d+)?$/;
const DATE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./](?:\d{4}|\d{2}))$/;
const WORD_BEFORE =
  /\b(?:phone|phones|tel|telephone|mobile|cell|cellphone|call|calling|called|text|texting|reach|whatsapp|fax|contact|dial|ring|answering|sms|landline|hotline|my number|mob|ph)\b[^\n]*$/i;
const WORD_AFTER = /^[^\S\n]*[-,(]?[^\S\n]*(?:office|fax|mobile|cell|home|work|phone|tel|landline)\b/i;

const EXTENSION = /[^\S\n]?(?:x|ext\.?|extension)[^\S\n]?\d+$/i;

/** Digits of the number itself, without an extension. */
const HOUSE_NUMBER_FOLLOWS = /^[^\S\n]+\p{Lu}/u;

function digitCount(value: string): number {
  return value.replace(EXTENSION, '').replace(/\D/g, '').length;
}

function hasPhoneWord(text: string, start: number, end: number): boolean {
  return contextBefore(text, start, WORD_BEFORE, 32) || contextAfter(text, end, WORD_AFTER, 16);
}

function isPhone(text: string, match: RegExpExecArray): boolean {
  const value = match[0];
  const digits = digitCount(value);
  if (digits < 6 || digits > 15 || DATE.test(value)) return false;
  if (value.startsWith('+')) return parsePhoneNumberFromString(value)?.isPossible() === true;
  if (NANP.test(value)) return true;
  const grouped = /[ .\-()]/.test(value);
  if (!grouped && digits < 8) return false;
  const end = match.index + value.length;
  // "a taxi to 03 2657 Koontz Lane": digits followed by a name on the same line are a house number.
  if (HOUSE_NUMBER_FOLLOWS.test(text.slice(end, end + 3)) && !contextAfter(text, end, WORD_AFTER, 16)) return false;
  return hasPhoneWord(text, match.index, end);
}

/**
 * Six digits, in any script, anywhere in the text: fewer cannot hold a phone number. The shortest
 * that libphonenumber finds valid are a two-digit country code and a four-digit number (Austria,
 * Germany, Iran: "+43 1234"); a US number has ten; our own scan wants six too (see `isPhone`).
 */
const ENOUGH_DIGITS = /(?:\p{Nd}\P{Nd}*){6}/u;

export function findPhones(text: string): DetectedEntity[] {
  if (!ENOUGH_DIGITS.test(text)) return [];
  const found = findNumbers(text, { defaultCountry: 'US', v2: true }).map((n) =>
    span('PHONE', n.startsAt, n.endsAt),
  );
  for (const m of matchAll(CANDIDATE, text, (c) => isPhone(text, c))) {
    found.push(span('PHONE', m.index, m.index + m[0].length));
  }
  return found;
}
