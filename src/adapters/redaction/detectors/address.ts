/**
 * Street addresses. A street core is found first, in one of these forms:
 * - house number, then up to five words, then a street type ("42 Elm Street", "1121 New Creek Rd");
 * - a street word before the name, or a street suffix on it, then the house number, as most of
 *   Europe and Latin America write it ("Rua Katumi Kida 435", "ul. Lubartowska 42",
 *   "Gumpendorfer Strasse 44", "Holmevej 34");
 * - after an address cue ("lives at", "my address is", "ship to" …), capitalised words with a
 *   house number before or after them ("Kromwater 38");
 * - post office and military boxes (P.O. Box 12, Postfach 71, PSC 7004, Box 8380, APO AA 12345);
 * - an apartment or suite designator on its own ("Apt. 401");
 * - a postal code right after "zip code" or "postal code".
 * The core is then widened to the rest of the address: a house number before it, and the unit,
 * city, region, state code, postal code and country that follow it after commas or line breaks.
 */
import type { DetectedEntity } from '../../../domain/pii.js';
import { wordLists } from '../lexicon/words.js';
import { matchAll, span } from '../span.js';

const TYPES_AFTER =
  'street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|trl|crescent|cres|close|row|alley|plaza|loop|walk|grove|gardens|path|pike|route|rte|mews|esplanade|quay|wharf|broadway|vei|veien|vej|gata|gatan|vägen|straat|laan|weg|gasse|strasse|straße|str|platz|allee|ring|damm|ufer|utca|út|u|ulica|tie|katu|kuja|gade|plads|sletta|dreef|plein|kade|gracht|steeg|vegur|stræde|gränd|väg|torg|torget|chaussee|markt|brücke';
const TYPES_BEFORE =
  'rue|rua|via|viale|vicolo|calle|avenida|avda|av|avenue|piazza|piazzale|largo|travessa|quai|chemin|boulevard|bd|place|plaza|paseo|camino|carrer|carretera|strada|ul|ulica|aleja|al|rúa|praça|praca|estrada|alameda|rambla|ronda|corso|contrada|rruga|odos|οδός|λ|λεωφ';
const SUFFIXES =
  'straße|strasse|str|weg|gasse|platz|allee|ring|damm|ufer|vej|gade|vei|veien|vegen|vägen|gatan|gata|straat|laan|dreef|plein|kade|gracht|steeg|tie|katu|kuja|polku|vegur|gränd|stig|torget|torg|brücke|chaussee|markt|sletta|brekka|hrauni|stræde|bakken|vænget|parken|haven|toften';

/** Makes a plain alternation case-insensitive while `\p{Lu}` elsewhere in a pattern stays strict. */
function anyCase(source: string): string {
  return source.replace(/\\p\{[^}]*\}|\\.|\p{L}/gu, (c) =>
    c.length > 1 || c.toLowerCase() === c.toUpperCase() ? c : `[${c.toLowerCase()}${c.toUpperCase()}]`,
  );
}

const L = '[\\p{L}\\p{M}]';
const WORD = `${L}[\\p{L}\\p{M}'’.-]*`;
const NUM = '\\d{1,5}[A-Za-z]?(?:[-/]\\d{1,4})?\\.?';
const flags = 'gu';

const NUMBER_FIRST = new RegExp(`(?<![\\p{L}\\p{N}])${NUM}[^\\S\\n]+(?:${WORD}[^\\S\\n]+){0,4}?(?:${anyCase(TYPES_AFTER)})\\b\\.?`, flags);
const NAME_FIRST = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:(?:${anyCase(TYPES_BEFORE)})\\b\\.?[^\\S\\n]+(?:${WORD}[^\\S\\n]+){0,4}?|(?:\\p{Lu}${WORD}[^\\S\\n]+){0,3}?${L}*(?:${anyCase(SUFFIXES)})\\.?[^\\S\\n]+|(?:\\p{Lu}${WORD}[^\\S\\n]+){1,3}?(?:${anyCase(TYPES_AFTER)})\\b\\.?[^\\S\\n]+)${NUM}(?![\\p{L}\\p{N}])`,
  flags,
);
const NUMBER_THEN_TYPE = new RegExp(
  `(?<![\\p{L}\\p{N}])${NUM}[^\\S\\n]+(?:${anyCase(TYPES_BEFORE)})\\b\\.?(?:[^\\S\\n]+(?:de|la|le|du|des|da|do|das|dos|del|di|della|dei))*(?:[^\\S\\n]+\\p{Lu}${WORD}){1,4}`,
  flags,
);
// Runs of spaces in a lookbehind are bounded: V8 tries a lookbehind at every position, and two
// unbounded runs in one made a long run of spaces cost its length cubed.
const CUE =
  '(?:\\blives? at|\\bliving at|\\baddress(?: is|:)?|\\bmoved to|\\bsent to|\\bsend (?:it |them )?to|\\bship(?:ped)? to|\\bdeliver(?:ed)? to|\\blocated at|\\bis at|\\bmeet me at|\\breturn to|\\barrived at|\\btaxi to|\\bstay(?:ing)? at|\\bcome to|\\bvisit(?:ed)?)[^\\S\\n]{0,8}[:,]?[^\\S\\n]{0,8}';
const CUED = new RegExp(
  `(?<=${anyCase(CUE)})(?:${NUM}[^\\S\\n]+(?:\\p{Lu}${WORD}[^\\S\\n]+){0,3}\\p{Lu}${WORD}(?:[^\\S\\n]+${NUM})?|(?:\\p{Lu}${WORD}[^\\S\\n]+){1,3}${NUM})(?![\\p{L}\\p{N}])`,
  flags,
);
const BOXES = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:p\\.?[^\\S\\n]?o\\.?[^\\S\\n]?box|postfach|post office box|(?:psc|unit|cmr)[^\\S\\n]+\\d{1,5},?[^\\S\\n]+box)[^\\S\\n]+\\d{1,6}|(?<![\\p{L}\\p{N}])(?:usns|uss|usnv|uscgc)[^\\S\\n]+${WORD}|(?<![\\p{L}\\p{N}])(?:apo|fpo|dpo)[^\\S\\n]+(?:aa|ae|ap)[^\\S\\n]+\\d{5}`,
  'giu',
);
const UNIT = `(?:${anyCase('apt|apartment|suite|ste|unit|flat')})\\.?[^\\S\\n]*#?[^\\S\\n]*\\d{1,5}[A-Za-z]?\\b`;
const UNIT_ALONE = new RegExp(`(?<![\\p{L}\\p{N}])${UNIT}`, flags);
const POSTCODE = '(?:\\d{5}(?:-\\d{4})?|\\d{4}(?:[^\\S\\n]?[A-Z]{2})?|\\d{3}[^\\S\\n]?\\d{2}|[A-Z]{1,2}\\d[A-Z\\d]?[^\\S\\n]\\d[A-Z]{2}|[A-Z]\\d[A-Z][^\\S\\n]\\d[A-Z]\\d)';
const ZIP_CUE = new RegExp(`(?<=\\b${anyCase('(?:zip|postal|post)')}[^\\S\\n]?${anyCase('code')}[^\\S\\n]{0,8}(?:is|:)?[^\\S\\n]{0,8})${POSTCODE}(?![\\p{L}\\p{N}])`, 'gu');

// "Kromwater 38, Zoetermeer" or "12 Drangahrauni 3\n Apt. 460": a house number after capitalised
// words, followed by a place or a unit on the next line, is a street line even without a street word.
const NUMBERED_LINE = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:${NUM}[^\\S\\n]+)?(?:\\p{Lu}${WORD}[^\\S\\n]+){1,4}${NUM}(?=[^\\S\\n]*(?:,[^\\S\\n]*\\p{Lu}|\\n[^\\p{L}\\p{N}\\n]*(?:${UNIT}|\\p{Lu}[\\p{Ll}\\p{M}]+(?:[^\\S\\n]+\\p{Lu}[\\p{Ll}\\p{M}]+)*[^\\S\\n]*(?:\\n|,|$))|[^\\S\\n]+${UNIT}))`,
  flags,
);
const STREET_LINE_BEFORE = new RegExp(`(?:^|\\n)[^\\p{L}\\p{N}\\n]*((?:${NUM}[^\\S\\n]+)?(?:${WORD}[^\\S\\n]+){1,5}${NUM})(?:[^\\S\\n]*,[^\\S\\n]*|[^\\S\\n]*\\n[^\\p{L}\\p{N}\\n]*)$`, 'u');
const LEADING_NUMBERS = /(?:\d{1,5}[A-Za-z]?[^\S\n]+){1,2}$/u;
// A house number after the name, or a compass quadrant after the street type ("Avenue NW").
const TRAILING_NUMBER = new RegExp(`^[^\\S\\n]+(?:${NUM}|(?:NE|NW|SE|SW|N|S|E|W)\\.?)(?=[\\s,]|$)`, 'u');
const NEXT_UNIT = new RegExp(`^(?:[^\\S\\n]*,?[^\\S\\n]*\\n?[>*•?\\s]*)${UNIT}`, 'u');
// Line breaks may be followed by quoting or bullet marks ("> ", "* ") in pasted text.
const SEPARATOR = /^(?:[^\S\n]*,[^\S\n]*(?:\n[>*•?\s]*)?(?:,[^\S\n]*)?|[^\S\n]*\n[>*•?\s]*(?:,[^\S\n]*)?|[^\S\n]+)/u;
const PLACE_SEGMENT = new RegExp(
  `^(?:${POSTCODE}(?:[^\\S\\n]+\\p{Lu}${WORD}){0,3}|(?:${WORD})(?:[^\\S\\n]+(?:${WORD}))*?(?:[^\\S\\n]+${POSTCODE})?)(?=$|[\\s,.;:!?)])`,
  'u',
);
const PRONOUNS = new Set(['i', 'we', 'you', 'he', 'she', 'it', 'they', 'my', 'our', 'your', 'this', 'that', 'there', 'then', 'but', 'and', 'or', 'so', 'if', 'please', 'thanks', 'call', 'phone', 'email', 'tel', 'fax']);

function isPlaceSegment(segment: string, afterLineBreak: boolean): boolean {
  const words = segment.match(/[\p{L}\p{M}'’.-]+/gu) ?? [];
  if (words.length === 0) return /\d/.test(segment);
  if (words.length > 5) return false;
  const { commonWords } = wordLists();
  const first = words[0] ?? '';
  if (PRONOUNS.has(first.toLowerCase())) return false;
  const capitalised = /^\p{Lu}/u.test(first);
  // On the same line only capitalised place names continue an address; after a line break the
  // block layout itself says so, and lowercase city names are common in typed addresses.
  if (!capitalised && (!afterLineBreak || commonWords.has(first.toLowerCase()))) return false;
  return true;
}

/** Widens a street core to the whole address around it. */
function widen(text: string, start: number, end: number): [number, number] {
  const lineBefore = STREET_LINE_BEFORE.exec(text.slice(Math.max(0, start - 80), start));
  if (lineBefore !== null && lineBefore[1] !== undefined) start -= lineBefore[0].length - lineBefore[0].indexOf(lineBefore[1]);
  const leading = LEADING_NUMBERS.exec(text.slice(Math.max(0, start - 16), start));
  if (leading !== null && !/[\p{L}\p{N}]/u.test(text[start - leading[0].length - 1] ?? '')) start -= leading[0].length;
  const trailing = TRAILING_NUMBER.exec(text.slice(end, end + 12));
  if (trailing !== null) end += trailing[0].length;
  let sawUnit = false;
  for (let segments = 0; segments < 6; segments += 1) {
    const rest = text.slice(end, end + 120);
    const unit = NEXT_UNIT.exec(rest);
    if (unit !== null) {
      end += unit[0].length;
      sawUnit = true;
      continue;
    }
    const separator = SEPARATOR.exec(rest);
    if (separator === null) break;
    const afterSeparator = rest.slice(separator[0].length);
    const segment = PLACE_SEGMENT.exec(afterSeparator);
    if (segment === null) break;
    const breaksLine = separator[0].includes('\n') || separator[0].includes(',');
    if (!breaksLine && !sawUnit && !/^\s*\d/.test(segment[0]) && !/^(?:\p{Lu}{2,}|\p{Lu}\p{Ll}+)(?:[^\S\n]+\p{Lu}{2})?[^\S\n]+\d/u.test(segment[0])) break;
    if (!isPlaceSegment(segment[0], breaksLine)) break;
    end += separator[0].length + segment[0].length;
  }
  return [start, end];
}

const STREET_WORDS = new Set([...TYPES_AFTER.split('|'), ...TYPES_BEFORE.split('|')]);
const STRONG_TYPES = new Set(['street', 'avenue', 'road', 'boulevard', 'lane', 'drive', 'st', 'ave', 'rd', 'blvd']);
const FUNCTION_WORDS = new Set(['the', 'a', 'an', 'that', 'this', 'these', 'those', 'down', 'up', 'my', 'your', 'his', 'her', 'our', 'their', 'to', 'of', 'in', 'on', 'at', 'and', 'or', 'for', 'with', 'by', 'from', 'more', 'other', 'times', 'blocks', 'miles', 'minutes', 'hours', 'days', 'km']);

/** Street names are written capitalised; lowercase ones pass only with a clear street type. */
function isStreetName(core: string, numberFirst: boolean): boolean {
  const words = core.match(/[\p{L}\p{M}][\p{L}\p{M}'’-]*/gu) ?? [];
  if (words.some((w) => FUNCTION_WORDS.has(w.toLowerCase()))) return false;
  const { commonWords } = wordLists();
  const named = numberFirst ? words.slice(0, -1) : words;
  const streetWord = (numberFirst ? '' : words[words.length - 1] ?? '').toLowerCase();
  // "Bring 2", "During 5": an ordinary word that merely ends like a street suffix.
  if (!numberFirst && commonWords.has(streetWord) && !STREET_WORDS.has(streetWord)) return false;
  if (named.length > 0 && named.every((w) => /^\p{Lu}/u.test(w))) return true;
  const type = (numberFirst ? words[words.length - 1] : words[0])?.toLowerCase() ?? '';
  if (numberFirst) return STRONG_TYPES.has(type);
  // Name first: a street word before the name ("via goffredo mameli 149") or an uncommon
  // compound with a street suffix ("salontie 6"); never an ordinary word ("during 5").
  return words.length > 0 && words.every((w) => !commonWords.has(w.toLowerCase()) || w.length <= 3);
}

/** A pattern for this (`[^\S\n]+$`) tries each space of a long run to its end: its length squared. */
function lengthWithoutTrailingSpaces(core: string): number {
  let length = core.length;
  while (length > 0 && core[length - 1] !== '\n' && /\s/u.test(core[length - 1] ?? '')) length -= 1;
  return length;
}

export function findAddresses(text: string): DetectedEntity[] {
  if (!/\d/.test(text)) return [];
  const cores = [
    ...matchAll(NUMBER_FIRST, text, (m) => isStreetName(m[0], true)),
    ...matchAll(NAME_FIRST, text, (m) => isStreetName(m[0], false)),
    ...[NUMBER_THEN_TYPE, CUED, BOXES, NUMBERED_LINE, UNIT_ALONE].flatMap((pattern) => matchAll(pattern, text)),
  ];
  const found = cores.map((m) => {
    const [start, end] = widen(text, m.index, m.index + lengthWithoutTrailingSpaces(m[0]));
    return span('ADDRESS', start, end);
  });
  for (const m of matchAll(ZIP_CUE, text)) {
    found.push(span('ADDRESS', m.index, m.index + m[0].length));
  }
  return mergeOverlapping(found);
}

function mergeOverlapping(spans: DetectedEntity[]): DetectedEntity[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: DetectedEntity[] = [];
  for (const next of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && next.start <= last.end) {
      merged[merged.length - 1] = span('ADDRESS', last.start, Math.max(last.end, next.end));
    } else {
      merged.push(next);
    }
  }
  return merged;
}
