import { randomUUID } from 'node:crypto';

/** Client-chosen identifiers (memory ids, user ids, session ids): printable, no spaces, bounded. */
export const IDENTIFIER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}$';
const identifier = new RegExp(IDENTIFIER_PATTERN);

export function isIdentifier(value: string): boolean {
  return identifier.test(value);
}

export function newMemoryId(): string {
  return randomUUID();
}

export function newTaskId(): string {
  return randomUUID();
}
