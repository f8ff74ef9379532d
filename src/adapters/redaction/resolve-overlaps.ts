import type { DetectedEntity, PiiEntityType } from '../../domain/pii.js';

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

/** Keeps a set of non-overlapping spans, chosen by priority then length, sorted by start. */
export function resolveOverlaps(spans: readonly DetectedEntity[]): DetectedEntity[] {
  const ranked = [...spans].sort(
    (a, b) => PRIORITY[a.type] - PRIORITY[b.type] || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  const kept: DetectedEntity[] = [];
  for (const candidate of ranked) {
    if (candidate.end <= candidate.start) continue;
    if (kept.every((k) => candidate.end <= k.start || candidate.start >= k.end)) kept.push(candidate);
  }
  return kept.sort((a, b) => a.start - b.start);
}
