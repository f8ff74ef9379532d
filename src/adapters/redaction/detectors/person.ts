/**
 * Person names. Running a full NLP parse on every memory costs more than the rest of the redactor
 * together, so this detector uses compromise's lexicon (its #FirstName, #LastName, #Person,
 * #Honorific, place and organisation tags) together with a multicultural name dictionary and a
 * list of common English words, and reads the text as a run of words:
 * - a run of capitalised words on one line (with particles such as "van", "de" and middle
 *   initials) is a name when one of its words is a known given name or surname that is not also a
 *   common word ("Kelsey Bustos", "Clara"), or when all of its two or more words are names even if
 *   they are also common words ("Mark Smith");
 * - an honorific (Mr., Dr., Mrs., Prof. …) makes the words after it a name, known or not;
 * - cue phrases do too: "my name is X", "Name: X", "I'm X", "call me X", "Dear X", "my sister X",
 *   and a speaker label at the start of a line ("Kalman: …");
 * - common words, places and organisations end a run, so "Meet Sandra Monday" yields "Sandra".
 */
import type { DetectedEntity } from '../../../domain/pii.js';
import { wordLists } from '../lexicon/words.js';
import { span } from '../span.js';

type Kind = 'given' | 'surname' | 'ambiguous' | 'unknown' | 'common' | 'place' | 'honorific';

interface Token {
  readonly start: number;
  readonly end: number;
  readonly lower: string;
  readonly capitalised: boolean;
  readonly kind: Kind;
}

const WORD = /\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*/gu;
const POSSESSIVE = /['’]s$/i;
const UPPER_START = /^\p{Lu}/u;
const HAS_LOWER = /\p{Ll}/u;

const HONORIFICS = new Set([
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'professor', 'sir', 'madam', 'madame', 'dame', 'lord',
  'lady', 'rev', 'reverend', 'fr', 'capt', 'captain', 'col', 'sgt', 'lt', 'mister', 'mme', 'mlle', 'herr',
  'frau', 'señor', 'senor', 'señora', 'senora', 'sra', 'sr', 'signor', 'signora', 'dott', 'ing',
]);
const PARTICLES = new Set(['van', 'von', 'de', 'der', 'den', 'da', 'di', 'del', 'della', 'du', 'dos', 'das', 'le', 'la', 'bin', 'ibn', 'al', 'ter', 'ten', 'st']);
const GIVEN_TAGS = new Set(['FirstName', 'MaleName', 'FemaleName', 'Person']);
const PLACE_TAGS = new Set(['City', 'Country', 'Place', 'Region', 'Organization', 'SportsTeam', 'Demonym', 'Month', 'WeekDay', 'Currency', 'Unit']);
// Words that label a field or a speaker role, not a person, in forms and transcripts.
const LABELS = new Set(['name', 'user', 'bot', 'agent', 'customer', 'assistant', 'system', 'note', 'date', 'subject', 'address', 'phone', 'email', 're', 'fw', 'fwd', 'ps', 'q', 'a']);

/** Cues after which the next words are a name whatever their case. */
const STRONG_CUE = /(?:\bmy name is|\bname is|\bname's|\bnamed|\bcalled|\bname\s*:|\bsigned,?|\bsincerely,?|\bregards,?)[^\S\n]*$/i;
/** Cues after which the next capitalised words are a name even when no list knows them. */
const WEAK_CUE =
  /(?:\bi am|\bi'm|\bi’m|\bcall me|\bthis is|\bdear|\bhi|\bhello|\bhey|\bthanks,?|\bmeet|\bask for|\bspeak to|\btalk to|\bmy (?:wife|husband|son|daughter|sister|brother|mother|father|mom|mum|dad|friend|boss|colleague|partner|girlfriend|boyfriend|neighbou?r|cousin|aunt|uncle|grandma|grandpa|grandmother|grandfather|niece|nephew|fianc[eé]e?|coworker|manager|teacher|doctor|therapist|roommate|child|kid|baby|dog|cat))[^\S\n]*,?[^\S\n]*$/i;

const CONTRACTION = /['’](?:m|re|ll|ve|d|t)$/i;
const ORGANISATION_AFTER = /^,?[^\S\n]+(?:ltd|limited|plc|inc|llc|llp|gmbh|ag|corp|corporation|co|company|group|&)\b/i;

function classify(word: string, lists: ReturnType<typeof wordLists>): Kind {
  const lower = word.toLowerCase();
  if (CONTRACTION.test(lower) || lower === 'i') return 'common';
  if (HONORIFICS.has(lower)) return 'honorific';
  const tags = lists.tags.get(lower);
  const common = lists.commonWords.has(lower) || LABELS.has(lower);
  if (tags !== undefined) {
    if (tags.some((tag) => GIVEN_TAGS.has(tag))) return common ? 'ambiguous' : 'given';
    if (tags.includes('LastName')) return common ? 'ambiguous' : 'surname';
    if (tags.some((tag) => PLACE_TAGS.has(tag))) return 'place';
    return 'common';
  }
  if (lists.personNames.has(lower)) return common ? 'ambiguous' : 'surname';
  return common ? 'common' : 'unknown';
}

function tokenize(text: string): Token[] {
  const lists = wordLists();
  const tokens: Token[] = [];
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) {
    const word = m[0].replace(POSSESSIVE, '');
    const capitalised = UPPER_START.test(word) && (HAS_LOWER.test(word) || word.length === 1);
    tokens.push({ start: m.index, end: m.index + word.length, lower: word.toLowerCase(), capitalised, kind: classify(word, lists) });
  }
  return tokens;
}

function isNameWord(token: Token): boolean {
  return token.kind === 'given' || token.kind === 'surname' || token.kind === 'ambiguous' || token.kind === 'unknown';
}

/** Whether `next` continues the name that ends with `previous`: same line, one space apart. */
function continues(text: string, previous: Token, next: Token): boolean {
  const gap = text.slice(previous.end, next.start);
  if (gap === ' ') return true;
  // A middle initial: "John F. Kennedy".
  return gap === '. ' && previous.end - previous.start === 1 && previous.capitalised;
}

function isAccepted(run: readonly Token[], cued: boolean, honoured: boolean): boolean {
  if (honoured || cued) return true;
  if (run.some((t) => t.kind === 'given' || t.kind === 'surname')) return true;
  if (run.length >= 2 && run.every((t) => t.kind === 'ambiguous' || t.kind === 'given' || t.kind === 'surname')) return true;
  return false;
}

function isSpeakerLabel(text: string, token: Token): boolean {
  const lineStart = text.lastIndexOf('\n', token.start - 1) + 1;
  return /^[^\S\n]*$/.test(text.slice(lineStart, token.start)) && /^[^\S\n]*:/.test(text.slice(token.end, token.end + 3));
}

export function findPersons(text: string): DetectedEntity[] {
  if (!/\p{L}/u.test(text)) return [];
  const tokens = tokenize(text);
  const found: DetectedEntity[] = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i];
    if (token === undefined) break;
    const before = text.slice(Math.max(0, token.start - 24), token.start);
    const strong = STRONG_CUE.test(before);
    const honorific = i > 0 && tokens[i - 1]?.kind === 'honorific' && continuesAfterHonorific(text, tokens[i - 1], token);
    const startsName = honorific
      ? token.kind !== 'honorific' && (token.capitalised || isNameWord(token))
      : strong
        ? isNameWord(token)
        : token.capitalised && isNameWord(token);
    if (!startsName) {
      i += 1;
      continue;
    }
    const run: Token[] = [token];
    let j = i + 1;
    while (j < tokens.length) {
      const next = tokens[j];
      const last = run[run.length - 1];
      if (next === undefined || last === undefined) break;
      if (PARTICLES.has(next.lower) && !next.capitalised) {
        const after = tokens[j + 1];
        if (after !== undefined && after.capitalised && isNameWord(after) && continues(text, last, next) && continues(text, next, after)) {
          run.push(next, after);
          j += 2;
          continue;
        }
        break;
      }
      const fits = strong
        ? isNameWord(next) && (next.capitalised || !last.capitalised)
        : next.capitalised && (isNameWord(next) || (honorific && next.kind !== 'honorific'));
      if (!fits || !continues(text, last, next)) break;
      run.push(next);
      j += 1;
    }
    const cued = strong || (WEAK_CUE.test(before) && token.capitalised) || (run.length === 1 && token.capitalised && isSpeakerLabel(text, token));
    const lastOfRun = run[run.length - 1] ?? token;
    const organisation = ORGANISATION_AFTER.test(text.slice(lastOfRun.end, lastOfRun.end + 16));
    if (!organisation && isAccepted(run, cued, honorific)) {
      const first = honorific ? (tokens[i - 1] ?? token) : token;
      const last = run[run.length - 1] ?? token;
      found.push(span('PERSON', first.start, last.end));
    }
    i = j;
  }
  return found;
}

function continuesAfterHonorific(text: string, honorific: Token | undefined, next: Token): boolean {
  if (honorific === undefined) return false;
  const gap = text.slice(honorific.end, next.start);
  return gap === ' ' || gap === '. ' || gap === '.';
}
