import type { DetectedEntity, PiiEntityType, Redaction } from '../../domain/pii.js';
import type { Redactor } from '../../ports/redactor.js';
import { findAddresses } from './detectors/address.js';
import { findCreditCards } from './detectors/credit-card.js';
import { findEmails } from './detectors/email.js';
import { findIbans } from './detectors/iban.js';
import { findIpAddresses } from './detectors/ip-address.js';
import { findPersons } from './detectors/person.js';
import { findPhones } from './detectors/phone.js';
import { findSecrets } from './detectors/secret.js';
import { findSsns } from './detectors/ssn.js';
import { foldForDetection } from './fold.js';
import { resolveOverlaps, SHIELDING_TYPES } from './resolve-overlaps.js';
import type { Detector } from './span.js';

export interface RedactorOptions {
  /** The entity types to replace with their placeholder. Addresses and names are still detected
   * when not chosen, so that such a span (a street named after a person) keeps a chosen one from
   * being cut in half. */
  readonly entities: readonly PiiEntityType[];
}

/** Each type's detector: a detector finds spans of its type only. */
const DETECTORS: ReadonlyArray<readonly [PiiEntityType, Detector]> = [
  ['SECRET', findSecrets],
  ['EMAIL', findEmails],
  ['IBAN', findIbans],
  ['CREDIT_CARD', findCreditCards],
  ['SSN', findSsns],
  ['IP_ADDRESS', findIpAddresses],
  ['PHONE', findPhones],
  ['ADDRESS', findAddresses],
  ['PERSON', findPersons],
];

/**
 * The entities of the text as a redaction of the chosen types settles them (see resolveOverlaps).
 * A type neither chosen nor shielding is not looked for: resolveOverlaps would drop its spans.
 * The detectors read the text folded (foldForDetection); the spans are the original text's.
 */
function detectFor(text: string, chosen?: ReadonlySet<PiiEntityType>): DetectedEntity[] {
  if (text.length === 0) return [];
  const detectors = DETECTORS.filter(([type]) => chosen === undefined || chosen.has(type) || SHIELDING_TYPES.has(type));
  const folded = foldForDetection(text);
  const entities = resolveOverlaps(detectors.flatMap(([, find]) => find(folded.text)), chosen);
  return entities.map((entity) => ({ type: entity.type, ...folded.toOriginal(entity.start, entity.end) }));
}

/** Every entity of every type in the text: non-overlapping spans sorted by start. */
export function detect(text: string): DetectedEntity[] {
  return detectFor(text);
}

export function placeholder(type: PiiEntityType): string {
  return `[${type}]`;
}

/** Replaces the given spans (sorted, non-overlapping) with their placeholders. */
export function applyRedaction(text: string, entities: readonly DetectedEntity[]): string {
  let out = '';
  let cursor = 0;
  for (const entity of entities) {
    out += text.slice(cursor, entity.start) + placeholder(entity.type);
    cursor = entity.end;
  }
  return out + text.slice(cursor);
}

export function createRedactor(options: RedactorOptions): Redactor {
  const chosen = new Set(options.entities);
  return {
    redact(text: string): Redaction {
      const entities = detectFor(text, chosen).filter((entity) => chosen.has(entity.type));
      return { text: applyRedaction(text, entities), entities };
    },
  };
}
