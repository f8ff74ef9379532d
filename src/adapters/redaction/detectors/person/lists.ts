/**
 * Names come in lists: "Malon, Mark, Kaylee and Brandi", "Sousa and Ball". When one member of a
 * list is surely a name, the others that could be names are names too, even those no word list
 * knows. A list that acts as one thing is the name of a firm instead: "The Jones, Mitchell and
 * Williams office", "Davis, Reynolds and Williamson is a start-up".
 */
import { DETERMINER_BEFORE, ORGANISATION_AFTER, PLACE_BEFORE, SINGULAR_AFTER } from './cues.js';
import { isPerson, type Verdict } from './evidence.js';
import type { Run } from './runs.js';

export interface Weighed {
  readonly run: Run;
  readonly verdict: Verdict;
}

// Commas, "and", "or", "&", and the "and" of the languages whose names appear in English text.
const LIST_GAP = /^(?:[^\S\n]*,[^\S\n]*(?:(?:and|or|&)[^\S\n]+)?|[^\S\n]+(?:and|or|&|und|et|y|e|och|og|en)[^\S\n]+|[^\S\n]*&[^\S\n]*)$/iu;

function bounds(run: Run): { start: number; end: number } {
  return { start: run.tokens[0]?.start ?? 0, end: run.tokens[run.tokens.length - 1]?.end ?? 0 };
}

function groupLists(text: string, weighed: readonly Weighed[]): Weighed[][] {
  const groups: Weighed[][] = [];
  let group: Weighed[] = [];
  for (const item of weighed) {
    const previous = group[group.length - 1];
    if (previous !== undefined && !LIST_GAP.test(text.slice(bounds(previous.run).end, bounds(item.run).start))) {
      groups.push(group);
      group = [];
    }
    group.push(item);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

const FIRM_LINE = /^[^\S\n]*[\p{L}\p{M}'’-]+, [\p{L}\p{M}'’-]+,? (?:and|&) [\p{L}\p{M}'’-]+[^\S\n]*$/iu;

/**
 * A list that acts as one thing: after "the" or a preposition of place, before a singular verb or
 * an organisation word, or three surnames alone on a line of a letterhead or an address block
 * ("Rose, Turner and Thompson").
 */
function actsAsOne(text: string, group: readonly Weighed[]): boolean {
  const first = group[0];
  const last = group[group.length - 1];
  if (first === undefined || last === undefined) return false;
  const start = bounds(first.run).start;
  const end = bounds(last.run).end;
  const before = text.slice(Math.max(0, start - 24), start);
  const after = text.slice(end, end + 64);
  const possessive = last.run.tokens[last.run.tokens.length - 1]?.possessive === true;
  if (DETERMINER_BEFORE.test(before) || SINGULAR_AFTER.test(after) || ORGANISATION_AFTER.test(after)) return true;
  if (!possessive && PLACE_BEFORE.test(before)) return true;
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const lineEnd = text.indexOf('\n', end);
  return group.length === 3 && FIRM_LINE.test(text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd));
}

/** Could be a name in a list of names: nothing rules it out and its words lean, if only a little, towards a name. */
function listable(verdict: Verdict, support: number): boolean {
  if (verdict.settled) return verdict.person;
  return verdict.lexical > 0 || support >= 2;
}

/** The runs that are names, once lists have lent their members each other's evidence. */
export function acceptWithLists(text: string, weighed: readonly Weighed[]): Run[] {
  const accepted: Run[] = [];
  for (const group of groupLists(text, weighed)) {
    if (group.length === 1) {
      const only = group[0];
      if (only !== undefined && isPerson(only.verdict)) accepted.push(only.run);
      continue;
    }
    const firm = actsAsOne(text, group);
    const gaps = group.slice(1).map((item, k) => text.slice(bounds(group[k]?.run ?? item.run).end, bounds(item.run).start));
    // "Anna, can I…" is a name and a word, not a list: a list has an "and" or three members.
    const isList = group.length >= 3 || gaps.some((gap) => /\p{L}|&/u.test(gap));
    const sure = group.filter((item) => isPerson(item.verdict)).length;
    // Two members that look like names on their words alone vouch for the rest: "thomas, omar and brandy".
    const nameLike = group.filter((item) => !item.verdict.settled && item.verdict.lexical >= 1.25).length;
    const vouched = sure > 0 || nameLike >= 2;
    const support = Math.max(sure, nameLike);
    for (const item of group) {
      const settledName = item.verdict.settled && item.verdict.person;
      if (firm && !settledName) continue;
      const alone = isPerson(item.verdict);
      if (alone || (isList && vouched && listable(item.verdict, support))) accepted.push(item.run);
    }
  }
  return accepted;
}
