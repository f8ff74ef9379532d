import type { Redaction } from '../domain/pii.js';

/** Finds personal data in a text and replaces the chosen kinds with typed placeholders. */
export interface Redactor {
  redact(text: string): Redaction;
}

/**
 * The accept path's redactor: the same redaction, answered later, so that a long text can be
 * redacted on another thread while the one serving requests goes on.
 */
export interface AsyncRedactor {
  redactText(text: string): Promise<string>;
}
