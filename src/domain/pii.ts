/** Kinds of personal data the redactor detects, and the placeholder each is replaced with (`[EMAIL]`). */
export const PII_ENTITY_TYPES = [
  'EMAIL',
  'PHONE',
  'CREDIT_CARD',
  'SSN',
  'IBAN',
  'IP_ADDRESS',
  'SECRET',
  'PERSON',
  'ADDRESS',
] as const;
export type PiiEntityType = (typeof PII_ENTITY_TYPES)[number];

/**
 * Identifiers are redacted by default. Names and street addresses are detected but kept unless
 * chosen: "my sister Clara" is often exactly what a memory is for.
 */
export const DEFAULT_PII_ENTITY_TYPES: readonly PiiEntityType[] = [
  'EMAIL',
  'PHONE',
  'CREDIT_CARD',
  'SSN',
  'IBAN',
  'IP_ADDRESS',
  'SECRET',
];

export function isPiiEntityType(value: string): value is PiiEntityType {
  return (PII_ENTITY_TYPES as readonly string[]).includes(value);
}

/** A span of the original text, 0-based and end-exclusive, in UTF-16 code units. */
export interface DetectedEntity {
  readonly type: PiiEntityType;
  readonly start: number;
  readonly end: number;
}

export interface Redaction {
  readonly text: string;
  /** The spans that were replaced, in order, with offsets into the original text. */
  readonly entities: readonly DetectedEntity[];
}
