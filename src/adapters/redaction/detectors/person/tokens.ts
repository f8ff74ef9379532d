/**
 * The words of a text as the person detector sees them: where each starts and ends, what the
 * word lists say it is, how it is written, and whether capital letters mean anything in its
 * sentence.
 */
import { wordLists, type WordLists } from '../../lexicon/words.js';

/**
 * - given / surname: a known name that is not also a common English word ("Kelsey", "Bustos");
 * - ambiguous: a known name that is also a common word ("Mark", "Rose", "Smith");
 * - unknown: in no list at all, which for a capitalised word usually means a proper noun;
 * - common, place, organisation, honorific, address: words that are not a name and end one.
 */
export type Kind = 'given' | 'surname' | 'ambiguous' | 'unknown' | 'common' | 'place' | 'organisation' | 'honorific' | 'address';

export interface Token {
  /** The word as written, without a possessive "'s". */
  readonly text: string;
  readonly start: number;
  /** End of the word without a possessive "'s". */
  readonly end: number;
  readonly lower: string;
  readonly kind: Kind;
  /** Starts with a capital and goes on in lower case ("Anna", "McDonald"), or is one capital letter. */
  readonly titleCase: boolean;
  /** Two or more capitals and no lower case ("SMITH"), in a text that otherwise uses case. */
  readonly upperCase: boolean;
  /** A capital letter followed by a full stop, as in "J. Smith". */
  readonly initial: boolean;
  readonly possessive: boolean;
  /** Known to compromise as a verb ("Love", "Trust"): in "I Love Lucy" it is not part of the name. */
  readonly verbLike: boolean;
  /** First word of a sentence, line or quotation, where a capital letter is owed to position. */
  readonly sentenceStart: boolean;
  /** The sentence is written all in lower case or all in capitals, so case tells nothing. */
  readonly caseless: boolean;
}

const WORD = /\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*/gu;
const POSSESSIVE = /['’]s$/i;
const TITLE_CASE = /^\p{Lu}(?:[\p{Ll}\p{M}]|['’-]?\p{Lu}?[\p{Ll}\p{M}])*/u;
const HAS_LOWER = /\p{Ll}/u;
const HAS_UPPER = /\p{Lu}/u;
const CONTRACTION = /['’](?:m|re|ll|ve|d|t)$/i;
const SKIPPED_BEFORE = /[^\S\n]|['‘’()[\]*•>–—-]/u;
const BOUNDARY = /[.!?:;\n"“”]/u;

const HONORIFICS = new Set([
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'professor', 'sir', 'madam', 'madame', 'dame', 'lord',
  'lady', 'rev', 'reverend', 'fr', 'capt', 'captain', 'col', 'sgt', 'lt', 'mister', 'mme', 'mlle', 'herr',
  'frau', 'señor', 'senor', 'señora', 'senora', 'sra', 'sr', 'signor', 'signora', 'dott', 'ing',
]);
// Street types and unit designators: "Sinko Street" is a street and "Diana Weöres Apt. 434" ends
// before "Apt", even though these words are in no common-word list in their short forms.
const ADDRESS_WORDS = new Set([
  'street', 'st', 'avenue', 'ave', 'road', 'rd', 'boulevard', 'blvd', 'lane', 'ln', 'drive', 'dr', 'court',
  'ct', 'terrace', 'highway', 'hwy', 'parkway', 'pkwy', 'square', 'sq', 'apt', 'apartment', 'suite', 'ste',
  'unit', 'box', 'floor', 'building', 'bldg',
]);
// Legal forms and words that head an organisation's name: "Merrill Corp", "Golden Helix Labs".
const ORGANISATION_WORDS = new Set([
  'inc', 'ltd', 'llc', 'llp', 'plc', 'gmbh', 'corp', 'incorporated', 'limited', 'corporation', 'company', 'group',
  'holdings', 'associates', 'partners', 'technologies', 'solutions', 'systems', 'services', 'consulting', 'industries',
  'enterprises', 'labs', 'laboratories', 'bank', 'university', 'institute', 'foundation', 'agency', 'software',
  'logistics', 'movers', 'lines', 'insurance', 'pharmaceuticals', 'center', 'centre', 'app', 'apps',
]);
const GIVEN_TAGS = new Set(['FirstName', 'MaleName', 'FemaleName', 'Person']);
// Function words are never names, whatever a name dictionary says of "So", "To" or "Can".
const VERB_TAGS = new Set(['Infinitive', 'PresentTense', 'PastTense', 'Gerund', 'Imperative', 'Verb', 'PhrasalVerb']);
const FUNCTION_TAGS = new Set(['Modal', 'Conjunction', 'Preposition', 'Determiner', 'Pronoun', 'Adverb', 'Copula', 'QuestionWord', 'Negative', 'Possessive']);
const PLACE_TAGS = new Set(['City', 'Country', 'Place', 'Region', 'Organization', 'SportsTeam', 'Demonym', 'Month', 'WeekDay', 'Currency', 'Unit']);
// Words that label a field or a speaker role, not a person, in forms and transcripts.
const LABELS = new Set(['name', 'user', 'bot', 'agent', 'customer', 'assistant', 'system', 'note', 'date', 'subject', 'address', 'phone', 'email', 're', 'fw', 'fwd', 'ps', 'q', 'a']);

function classifyWord(lower: string, lists: WordLists): Kind {
  // Single letters are initials at most ("J. Smith"), which the run builder handles.
  if (CONTRACTION.test(lower) || lower.length === 1) return 'common';
  if (HONORIFICS.has(lower)) return 'honorific';
  if (ADDRESS_WORDS.has(lower)) return 'address';
  if (ORGANISATION_WORDS.has(lower)) return 'organisation';
  const tags = lists.tags.get(lower);
  const common = lists.commonWords.has(lower) || LABELS.has(lower);
  const listed = lists.personNames.has(lower);
  if (tags !== undefined) {
    if (tags.some((tag) => GIVEN_TAGS.has(tag))) return common ? 'ambiguous' : 'given';
    if (tags.includes('LastName')) return common ? 'ambiguous' : 'surname';
    // April, May and June are months and given names; which one depends on the words around them.
    if (tags.includes('Month') && listed) return 'ambiguous';
    if (tags.some((tag) => PLACE_TAGS.has(tag))) return 'place';
    if (common && tags.some((tag) => FUNCTION_TAGS.has(tag))) return 'common';
  }
  // The name dictionary knows "Christian" and "Jean" even where compromise only knows a noun.
  if (listed) return common ? 'ambiguous' : 'surname';
  if (tags !== undefined || common) return 'common';
  return 'unknown';
}

const NAME_KINDS: ReadonlySet<Kind> = new Set(['given', 'surname', 'ambiguous', 'unknown']);
const RANK: Readonly<Record<Kind, number>> = {
  given: 5, surname: 4, ambiguous: 3, unknown: 2, common: 1, place: 1, organisation: 0, honorific: 0, address: 0,
};

/** Hyphenated words ("Jean-Luc", "Taylor-Jones") are judged by their strongest part. */
function classify(lower: string, lists: WordLists): Kind {
  const whole = classifyWord(lower, lists);
  if (whole !== 'unknown' || !lower.includes('-')) return whole;
  const parts = lower.split('-').map((part) => classifyWord(part, lists));
  if (parts.every((kind) => !NAME_KINDS.has(kind))) return 'common';
  return parts.reduce((best, kind) => (RANK[kind] > RANK[best] ? kind : best), 'unknown');
}

export function isNameKind(kind: Kind): boolean {
  return NAME_KINDS.has(kind);
}

/** Sentence spans whose case carries no information: written all lower case or all capitals. */
function caselessRanges(text: string): Array<readonly [number, number]> {
  const ranges: Array<readonly [number, number]> = [];
  const sentence = /[^.!?\n]+/g;
  for (let m = sentence.exec(text); m !== null; m = sentence.exec(text)) {
    // A lone "I" is capitalised even by people who capitalise nothing else.
    const letters = m[0].replace(/(?<!\p{L})I(?!\p{L})/gu, '');
    // "I'm so jealous!" is a short sentence with nothing to capitalise, not a lower-case one.
    const lowered = !HAS_UPPER.test(letters) && /^[^\p{L}]*\p{Ll}/u.test(m[0]);
    const shouted = !HAS_LOWER.test(letters) && /\p{Lu}{2}/u.test(letters);
    if (lowered || shouted) ranges.push([m.index, m.index + m[0].length]);
  }
  return ranges;
}

/** Sentence ends, line breaks, colons and quotes before a word: a capital after them proves nothing. */
function startsSentence(text: string, start: number): boolean {
  let i = start - 1;
  while (i >= 0 && SKIPPED_BEFORE.test(text[i] ?? '')) i -= 1;
  return i < 0 || BOUNDARY.test(text[i] ?? '');
}

const PHRASE_TAGS = new Set(['City', 'Country', 'Place', 'Region', 'Organization', 'SportsTeam']);
const LONGEST_PHRASE = 4;

/** Words that form a known place or organisation together: "Costa Rica", "Trinidad and Tobago". */
function phraseWords(text: string, words: readonly RegExpExecArray[], lists: WordLists): Set<number> {
  const inPhrase = new Set<number>();
  for (let i = 0; i < words.length; i += 1) {
    for (let length = LONGEST_PHRASE; length >= 2; length -= 1) {
      const first = words[i];
      const last = words[i + length - 1];
      if (first === undefined || last === undefined) continue;
      const phrase = text.slice(first.index, last.index + last[0].length);
      if (!/^[\p{L}\p{M}'’-]+(?: [\p{L}\p{M}'’-]+)*$/u.test(phrase)) continue;
      const tags = lists.tags.get(phrase.toLowerCase());
      if (tags?.some((tag) => PHRASE_TAGS.has(tag)) === true) {
        for (let k = i; k < i + length; k += 1) inPhrase.add(k);
        break;
      }
    }
  }
  return inPhrase;
}

export function tokenize(text: string): Token[] {
  const lists = wordLists();
  const caseless = caselessRanges(text);
  const tokens: Token[] = [];
  let previous: Token | undefined;
  const words = [...text.matchAll(WORD)];
  const inPhrase = phraseWords(text, words, lists);
  // Words and sentences both come in order, so one cursor walks the sentences.
  let range = 0;
  const inCaseless = (start: number): boolean => {
    while (range < caseless.length && (caseless[range]?.[1] ?? 0) <= start) range += 1;
    const current = caseless[range];
    return current !== undefined && start >= current[0];
  };
  for (const [index, m] of words.entries()) {
    const possessive = POSSESSIVE.test(m[0]) && m[0].length > 2;
    const word = possessive ? m[0].slice(0, -2) : m[0];
    const start = m.index;
    const end = start + word.length;
    const single = word.length === 1 && HAS_UPPER.test(word);
    const titleCase = single || (TITLE_CASE.exec(word)?.[0].length === word.length && HAS_LOWER.test(word));
    const afterAbbreviation = previous !== undefined && (previous.initial || previous.kind === 'honorific');
    const token: Token = {
      text: word,
      start,
      end,
      lower: word.toLowerCase(),
      kind: inPhrase.has(index) ? 'place' : classify(word.toLowerCase(), lists),
      titleCase,
      upperCase: word.length > 1 && !HAS_LOWER.test(word),
      initial: single && text[end] === '.',
      possessive,
      verbLike: lists.tags.get(word.toLowerCase())?.some((tag) => VERB_TAGS.has(tag)) === true,
      sentenceStart: !afterAbbreviation && startsSentence(text, start),
      caseless: inCaseless(start),
    };
    tokens.push(token);
    previous = token;
  }
  return tokens;
}
