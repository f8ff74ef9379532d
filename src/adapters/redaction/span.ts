import type { DetectedEntity, PiiEntityType } from '../../domain/pii.js';

/** Finds every span of one kind of personal data in a text. Pure and synchronous. */
export type Detector = (text: string) => DetectedEntity[];

export function span(type: PiiEntityType, start: number, end: number): DetectedEntity {
  return { type, start, end };
}

/** Runs a global regex over the text and keeps the matches that `accept` approves. */
export function matchAll(
  pattern: RegExp,
  text: string,
  accept: (match: RegExpExecArray) => boolean = () => true,
): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if (match[0].length === 0) {
      pattern.lastIndex += 1;
      continue;
    }
    if (accept(match)) found.push(match);
  }
  return found;
}
