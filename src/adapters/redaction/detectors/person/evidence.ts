/**
 * Whether a run of words names a person, weighed from several kinds of evidence rather than one
 * rule: what the word lists say of each word, how it is spelt, where it stands in its sentence,
 * and the words around it. A run whose weight reaches ACCEPT is a name. Some contexts settle the
 * question outright: an honorific or "my name is" before it makes it a name, and an organisation
 * or street word after it ("Ltd", "Street") or a house number before it makes it something else.
 */
import {
  DETERMINER_BEFORE,
  GENDERED_AFTER,
  HOUSE_NUMBER_AFTER,
  HOUSE_NUMBER_BEFORE,
  NUMBER_AFTER,
  NUMBER_BEFORE,
  ORGANISATION_AFTER,
  ORGANISATION_BEFORE,
  PERSON_AFTER,
  PERSON_BEFORE,
  PERSONAL_POSSESSION_AFTER,
  PLACE_BEFORE,
  PLACE_HEADS,
  PLACE_PREFIXES,
  STREET_AFTER,
  SUBJECT_AFTER,
  VOCATIVE_AFTER,
  VOCATIVE_BEFORE,
  WEAK_CUE,
  WORK_AFTER,
} from './cues.js';
import type { Run } from './runs.js';
import { nameShape } from './shape.js';
import type { Token } from './tokens.js';

export const ACCEPT = 2;

export type Verdict =
  /** Settled as a name, or as not a name, by its context. */
  | { readonly settled: true; readonly person: boolean }
  /** Weighed: a name when `weight` reaches ACCEPT; `lexical` is the weight of its words alone. */
  | { readonly settled: false; readonly weight: number; readonly lexical: number };

/** A capitalised word says more in a text that uses case than a lower-case one in a text that does not. */
function wordWeight(token: Token): number {
  const cased = token.titleCase && !token.caseless;
  switch (token.kind) {
    case 'given':
      return cased ? 2 : 1.5;
    case 'surname':
      return cased ? 2 : 1.25;
    case 'ambiguous':
      return cased ? 0.75 : 0;
    case 'unknown':
      return (cased ? 0.75 : -0.5) + nameShape(token.text);
    default:
      return 0;
  }
}

const isKnownName = (t: Token): boolean => t.kind === 'given' || t.kind === 'surname';

/** The words alone: their weights added, and a bonus for two or more words written as a name. */
export function lexicalWeight(run: Run): number {
  const words = run.tokens.filter((t) => !t.initial && t.kind !== 'common');
  const first = run.tokens[0];
  let weight = words.reduce((total, t) => total + wordWeight(t), 0);
  if (words.length >= 2) {
    // Two lower-case words that are a known given name and then no dictionary word ("jared
    // paavolainen") are a name much more often than anything else.
    const given = words[0]?.kind === 'given' && !words[0].titleCase && words.slice(1).every((t) => t.kind !== 'ambiguous');
    weight += given ? 1 : 0.5;
  }
  // "J. Smith": an initial before a capitalised word is how names, not other words, are written.
  if (first?.initial === true && run.tokens.length >= 2) weight += 1;
  // A single capitalised word that opens a sentence owes its capital partly to its place.
  if (run.tokens.length === 1 && first?.sentenceStart === true && first.titleCase && !isKnownName(first)) weight -= 0.25;
  // "Garcia-Smith" alone, with no given name, is more often a firm than a person.
  if (run.tokens.length === 1 && first?.lower.includes('-') === true && first.kind !== 'given') weight -= 0.75;
  return weight;
}

const slice = (text: string, from: number, to: number): string => {
  const part = text.slice(Math.max(0, from), to);
  const newline = part.lastIndexOf('\n');
  return newline < 0 ? part : part.slice(newline + 1);
};
const sliceAfter = (text: string, from: number, length: number): string => {
  const part = text.slice(from, from + length);
  const newline = part.indexOf('\n');
  return newline < 0 ? part : part.slice(0, newline);
};

function isSpeakerLabel(text: string, run: Run): boolean {
  const first = run.tokens[0];
  const last = run.tokens[run.tokens.length - 1];
  if (first === undefined || last === undefined || run.tokens.length > 3) return false;
  const lineStart = text.lastIndexOf('\n', first.start - 1) + 1;
  return /^[^\S\n]*$/.test(text.slice(lineStart, first.start)) && /^[^\S\n]*:/.test(text.slice(last.end, last.end + 3));
}

/** "from Chicago to Austin", "Lisbon, Porto": joined to a place, a run is most likely one too. */
function joinedToPlace(text: string, run: Run): boolean {
  const [farther, nearer] = run.preceding.length === 2 ? run.preceding : [undefined, run.preceding[0]];
  const first = run.tokens[0];
  if (nearer === undefined || first === undefined) return false;
  if (nearer.kind === 'place') return /^[^\S\n]*,[^\S\n]*$/u.test(text.slice(nearer.end, first.start));
  const connects = nearer.lower === 'to' || nearer.lower === 'and' || nearer.lower === 'or';
  return connects && farther?.kind === 'place' && text.slice(farther.end, nearer.start) === ' ' && text.slice(nearer.end, first.start) === ' ';
}

/** Context that makes the run part of an organisation's, a place's or a street's name. */
function namesSomethingElse(run: Run, before: string, after: string): boolean {
  const first = run.tokens[0];
  if (first === undefined) return true;
  if (ORGANISATION_AFTER.test(after) || STREET_AFTER.test(after) || ORGANISATION_BEFORE.test(before)) return true;
  if (first.titleCase && PLACE_PREFIXES.has(first.lower)) return true;
  if (NUMBER_BEFORE.test(before) && NUMBER_AFTER.test(after)) return true;
  if (HOUSE_NUMBER_BEFORE.test(before)) return true;
  // "Sorlaskeid 32," is a street line; "Anna Berg 32," would be odd for a person.
  return HOUSE_NUMBER_AFTER.test(after) && !run.tokens.some(isKnownName);
}

export function weigh(text: string, run: Run): Verdict {
  const first = run.tokens[0];
  const last = run.tokens[run.tokens.length - 1];
  if (first === undefined || last === undefined) return { settled: true, person: false };
  if (run.honorific !== undefined || run.named) return { settled: true, person: true };
  const before = slice(text, first.start - 40, first.start);
  const after = sliceAfter(text, last.end, 64);
  if (namesSomethingElse(run, before, after)) return { settled: true, person: false };

  const lexical = lexicalWeight(run);
  let weight = lexical;
  const single = run.tokens.length === 1;
  if (WEAK_CUE.test(before)) weight += 1.75;
  if (isSpeakerLabel(text, run)) weight += 2.5;
  const personBefore = PERSON_BEFORE.test(before);
  if (personBefore) weight += 1.25;
  if (PERSON_AFTER.test(after)) weight += 1.5;
  else if (SUBJECT_AFTER.test(after)) weight += 0.75;
  if (last.possessive && PERSONAL_POSSESSION_AFTER.test(after)) weight += 1.25;
  if (GENDERED_AFTER.test(after)) weight += 0.5;
  // "Cool, what's the address?" opens with a word, not a name: homonyms get less from this.
  if (VOCATIVE_BEFORE.test(before) && VOCATIVE_AFTER.test(after)) weight += first.kind === 'ambiguous' ? 0.75 : 1.75;
  if (!personBefore && !last.possessive && PLACE_BEFORE.test(before)) {
    // "near Victoria Park": after a preposition of place, a place word at the end settles it.
    if (!single && PLACE_HEADS.has(last.lower)) return { settled: true, person: false };
    weight -= single ? 1.25 : 0.75;
  }
  // "from Chicago to Austin", "Lisbon and Porto": joined to a place, it is one too.
  if (joinedToPlace(text, run)) weight -= 1.25;
  if (!last.possessive && DETERMINER_BEFORE.test(before)) weight += WORK_AFTER.test(after) ? 0.5 : -1;
  return { settled: false, weight, lexical };
}

export function isPerson(verdict: Verdict): boolean {
  return verdict.settled ? verdict.person : verdict.weight >= ACCEPT;
}
