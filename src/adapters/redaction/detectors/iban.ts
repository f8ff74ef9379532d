/**
 * IBANs (ISO 13616): a country code, two check digits and a country-specific BBAN, written compact
 * or in groups of four separated by single spaces, in either case. The candidate must have exactly
 * the length registered for its country and pass the mod-97 check, which rejects almost every
 * string that merely looks like one.
 */
import type { DetectedEntity } from '../../../domain/pii.js';
import { passesIbanMod97 } from '../checksums.js';
import { span } from '../span.js';

/** IBAN length per country, from the SWIFT IBAN registry. */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

const START = /(?<![\p{L}\p{N}])([A-Za-z]{2})\d{2}/gu;
const ALNUM = /[A-Za-z0-9]/;

/** Reads `length` alphanumerics from `start`, allowing one space between them; returns the end. */
function readCompact(text: string, start: number, length: number): { value: string; end: number } | undefined {
  let value = '';
  let i = start;
  while (value.length < length && i < text.length) {
    const char = text[i] ?? '';
    if (ALNUM.test(char)) {
      value += char;
      i += 1;
    } else if (char === ' ' && value.length > 0 && ALNUM.test(text[i + 1] ?? '')) {
      i += 1;
    } else {
      break;
    }
  }
  return value.length === length ? { value, end: i } : undefined;
}

export function findIbans(text: string): DetectedEntity[] {
  const found: DetectedEntity[] = [];
  START.lastIndex = 0;
  for (let m = START.exec(text); m !== null; m = START.exec(text)) {
    const length = IBAN_LENGTHS[(m[1] ?? '').toUpperCase()];
    if (length === undefined) continue;
    const read = readCompact(text, m.index, length);
    if (read === undefined || /[\p{L}\p{N}]/u.test(text[read.end] ?? '')) continue;
    if (!passesIbanMod97(read.value)) continue;
    found.push(span('IBAN', m.index, read.end));
    START.lastIndex = read.end;
  }
  return found;
}
