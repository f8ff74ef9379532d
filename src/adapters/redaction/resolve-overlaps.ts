import { PII_ENTITY_TYPES, type DetectedEntity, type PiiEntityType } from '../../domain/pii.js';

/**
 * Which type wins when two detected spans overlap, most specific first: a checksum- or
 * prefix-validated identifier beats a pattern that only looks right, and names and addresses,
 * the loosest detectors, give way to everything else. Within one type the longer span wins.
 */
const PRIORITY: Readonly<Record<PiiEntityType, number>> = {
  SECRET: 0,
  EMAIL: 1,
  IBAN: 2,
  CREDIT_CARD: 3,
  SSN: 4,
  IP_ADDRESS: 5,
  PHONE: 6,
  ADDRESS: 7,
  PERSON: 8,
};

/**
 * Types whose span still counts when they are not chosen: a chosen span that overlaps one (a
 * street named after a person) is left as it is, rather than cut in half. An identifier that is
 * not chosen never shields a chosen span: a password that is an email address is still an email.
 */
export const SHIELDING_TYPES: ReadonlySet<PiiEntityType> = new Set(['ADDRESS', 'PERSON']);

const EVERY_TYPE: ReadonlySet<PiiEntityType> = new Set(PII_ENTITY_TYPES);

const overlap = (a: DetectedEntity, b: DetectedEntity): boolean => a.start < b.end && b.start < a.end;

/**
 * Settles the detected spans into non-overlapping ones, sorted by start; spans of the chosen types
 * (all by default) are what a redaction replaces. Spans are taken by priority, then length; one
 * that overlaps a span already taken is dropped. Then a dropped chosen span that reaches past the
 * chosen spans it overlaps is joined to them, so that no piece of it is left in the text, unless a
 * span of its own type was taken there (a detector's other reading of the same characters). The
 * result may hold shielding spans of types not chosen.
 */
export function resolveOverlaps(spans: readonly DetectedEntity[], chosen: ReadonlySet<PiiEntityType> = EVERY_TYPE): DetectedEntity[] {
  const ranked = spans
    .filter((span) => span.end > span.start && (chosen.has(span.type) || SHIELDING_TYPES.has(span.type)))
    .sort((a, b) => PRIORITY[a.type] - PRIORITY[b.type] || b.end - b.start - (a.end - a.start) || a.start - b.start);
  let taken: DetectedEntity[] = [];
  const dropped: DetectedEntity[] = [];
  for (const candidate of ranked) {
    if (taken.some((span) => overlap(span, candidate))) dropped.push(candidate);
    else taken.push(candidate);
  }
  const readings = [...taken];
  for (const candidate of dropped) {
    if (!chosen.has(candidate.type) || readings.some((span) => span.type === candidate.type && overlap(span, candidate))) continue;
    // In the order taken: the first of the overlapping spans is the one of highest priority.
    const overlapping = taken.filter((span) => overlap(span, candidate));
    const [first] = overlapping;
    if (first === undefined || overlapping.some((span) => !chosen.has(span.type))) continue;
    const joined: DetectedEntity = {
      type: first.type,
      start: Math.min(candidate.start, ...overlapping.map((span) => span.start)),
      end: Math.max(candidate.end, ...overlapping.map((span) => span.end)),
    };
    taken = taken.flatMap((span) => (span === first ? [joined] : overlapping.includes(span) ? [] : [span]));
  }
  return taken.sort((a, b) => a.start - b.start);
}
