/**
 * US Social Security numbers. The dashed form ddd-dd-dddd is taken on its own; the spaced and plain
 * nine-digit forms only when a context word ("SSN", "social security") comes shortly before,
 * since nine digits alone are more often an order or account number. Numbers the SSA never issues
 * are rejected: area 000, 666 or 900-999, group 00, serial 0000.
 */
import type { DetectedEntity } from '../../../domain/pii.js';
import { contextBefore } from '../context.js';
import { matchAll, span } from '../span.js';

const DASHED = /(?<![\p{N}\p{L}-])(\d{3})-(\d{2})-(\d{4})(?![\p{N}\p{L}]|-\d)/gu;
const UNDASHED = /(?<![\p{N}\p{L}-])(\d{3})([ .]?)(\d{2})\2(\d{4})(?![\p{N}\p{L}]|[-.]\d)/gu;
const CONTEXT = /\b(?:ssn|ssns|social[\s-]+security|social[\s-]+sec|ss#|ss #|taxpayer id|tin)\b/i;

function isIssuable(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

export function findSsns(text: string): DetectedEntity[] {
  const dashed = matchAll(DASHED, text, (m) => isIssuable(m[1] ?? '', m[2] ?? '', m[3] ?? ''));
  const undashed = matchAll(
    UNDASHED,
    text,
    (m) => isIssuable(m[1] ?? '', m[3] ?? '', m[4] ?? '') && contextBefore(text, m.index, CONTEXT, 50),
  );
  return [...dashed, ...undashed].map((m) => span('SSN', m.index, m.index + m[0].length));
}
