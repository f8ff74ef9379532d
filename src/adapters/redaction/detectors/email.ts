/**
 * Email addresses: a local part, `@`, and a dotted domain whose last label is alphabetic
 * (RFC 5322's common subset, with Unicode letters for internationalised addresses). Quoted local
 * parts and IP-literal domains are left out: they almost never appear in conversation.
 */
import type { DetectedEntity } from '../../../domain/pii.js';
import { matchAll, span } from '../span.js';

const EMAIL =
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}_%+-]+(?:\.[\p{L}\p{N}_%+-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}{2,}(?![\p{L}\p{N}-])/gu;

export function findEmails(text: string): DetectedEntity[] {
  if (!text.includes('@')) return [];
  return matchAll(EMAIL, text).map((m) => span('EMAIL', m.index, m.index + m[0].length));
}
