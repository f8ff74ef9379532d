/**
 * Payment card numbers: 13 to 19 digits, written plain or in groups split by single spaces or
 * dashes, that pass the Luhn check and start with a digit that card networks issue (2 to 6:
 * Mastercard, Visa, Amex, Diners, Discover, JCB, UnionPay, Maestro). A run of digit groups is read
 * whole, then each run of consecutive groups inside it is tried, so "card 4111 1111 1111 1111 2025"
 * still finds the card. Runs of one repeated digit pass Luhn but are placeholders, not cards.
 */
import type { DetectedEntity } from '../../../domain/pii.js';
import { passesLuhn } from '../checksums.js';
import { matchAll, span } from '../span.js';

const GROUP_RUN = /(?<![\p{N}\p{L}.,])\d+(?:[ -]\d+)*(?![\p{N}\p{L}]|[.,]\d)/gu;
const GROUP = /\d+/g;

function isCardNumber(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  if (digits[0] === undefined || digits[0] < '2' || digits[0] > '6') return false;
  if (/^(\d)\1+$/.test(digits)) return false;
  return passesLuhn(digits);
}

function findInRun(run: string, offset: number): DetectedEntity | undefined {
  const groups = matchAll(GROUP, run);
  // Mixed separators ("4111-1111 1111") are not how cards are written.
  for (let first = 0; first < groups.length; first += 1) {
    let digits = '';
    for (let last = first; last < groups.length && digits.length < 19; last += 1) {
      const group = groups[last];
      if (group === undefined) break;
      digits += group[0];
      const start = groups[first]?.index ?? 0;
      const end = group.index + group[0].length;
      const written = run.slice(start, end);
      if (written.includes(' ') && written.includes('-')) break;
      if (isCardNumber(digits)) return span('CREDIT_CARD', offset + start, offset + end);
    }
  }
  return undefined;
}

export function findCreditCards(text: string): DetectedEntity[] {
  const found: DetectedEntity[] = [];
  for (const run of matchAll(GROUP_RUN, text)) {
    if (run[0].length < 13) continue;
    const card = findInRun(run[0], run.index);
    if (card !== undefined) found.push(card);
  }
  return found;
}
