import type { Redaction } from '../domain/pii.js';

/** Finds personal data in a text and replaces the chosen kinds with typed placeholders. */
export interface Redactor {
  redact(text: string): Redaction;
}
