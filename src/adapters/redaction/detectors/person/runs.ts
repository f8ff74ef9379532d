/**
 * Candidate names: runs of words on one line that could together be a person's name, with the
 * particles ("van der", "de la") and initials ("J.", "John F.") that names contain. Whether a run
 * is a name is decided later, from evidence; here only its extent is.
 */
import { STRONG_CUE, STRONG_CUE_WORD } from './cues.js';
import { isNameKind, type Token } from './tokens.js';

export interface Run {
  readonly tokens: readonly Token[];
  /** "Mr", "Dr", "Frau" … right before the run: the run is a name and the span starts there. */
  readonly honorific: Token | undefined;
  /** After "my name is", "called", "Name:": a name whatever its case. */
  readonly named: boolean;
  /** Up to two words before the run, nearest last. */
  readonly preceding: readonly Token[];
}

const PARTICLES = new Set(['van', 'von', 'de', 'der', 'den', 'da', 'di', 'del', 'della', 'du', 'dos', 'das', 'le', 'la', 'bin', 'ibn', 'al', 'ter', 'ten', 'st', 'y', 'e']);
const MAX_WORDS = 6;

const isBridge = (token: Token | undefined): boolean =>
  token !== undefined && ((PARTICLES.has(token.lower) && !token.titleCase) || token.initial);

/** A word that could be part of a name written the way this text writes names. */
function isCandidate(token: Token): boolean {
  if (!isNameKind(token.kind)) return false;
  // A word in capitals amid ordinary text is an acronym unless a name list knows it ("JOHN SMITH").
  return token.titleCase || token.caseless || (token.upperCase && token.kind !== 'unknown');
}

/** Whether `next` continues a name that ends with `previous`: one space apart, or after an initial. */
function adjacent(text: string, previous: Token, next: Token): boolean {
  if (previous.possessive) return false;
  const gap = text.slice(previous.end, next.start);
  return gap === ' ' || (previous.initial && (gap === '. ' || gap === '.'));
}

function followsHonorific(text: string, previous: Token | undefined, token: Token): previous is Token {
  if (previous?.kind !== 'honorific') return false;
  const gap = text.slice(previous.end, token.start);
  return gap === ' ' || gap === '. ' || gap === '.';
}

function lineBefore(text: string, start: number, window: number): string {
  const from = Math.max(0, start - window);
  const slice = text.slice(from, start);
  const newline = slice.lastIndexOf('\n');
  // A cue may end a line ("What's your name?\nUser: Ann"), so keep one line break.
  const previousBreak = newline < 0 ? -1 : slice.lastIndexOf('\n', newline - 1);
  return slice.slice(previousBreak + 1);
}

export function findRuns(text: string, tokens: readonly Token[]): Run[] {
  const runs: Run[] = [];
  const mayBeCued = STRONG_CUE_WORD.test(text);
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i];
    if (token === undefined) break;
    const previous = tokens[i - 1];
    const honorific = followsHonorific(text, previous, token) ? previous : undefined;
    const named = honorific === undefined && mayBeCued && STRONG_CUE.test(lineBefore(text, token.start, 48));
    const fits = (next: Token, last: Token): boolean => {
      if (honorific !== undefined) return next.kind !== 'honorific' && next.kind !== 'address' && (next.titleCase || isNameKind(next.kind));
      if (named) return isNameKind(next.kind) && (next.titleCase || !last.titleCase);
      // "ANNA KOWALSKA": after a known name in capitals, an unknown word in capitals continues it.
      if (next.upperCase && last.upperCase) return isNameKind(next.kind);
      return isCandidate(next) && (next.titleCase === last.titleCase || next.caseless);
    };
    const second = tokens[i + 1];
    const opensWithInitial = token.initial && second !== undefined && adjacent(text, token, second) && isCandidate(second);
    const opens = honorific !== undefined || named ? fits(token, token) : isCandidate(token) || opensWithInitial;
    if (!opens) {
      i += 1;
      continue;
    }
    const run: Token[] = [token];
    let j = i + 1;
    while (j < tokens.length && run.length < MAX_WORDS) {
      const next = tokens[j];
      const last = run[run.length - 1];
      if (next === undefined || last === undefined || !adjacent(text, last, next)) break;
      // Particles and middle initials join the words around them: "van der Berg", "John F. Kennedy".
      let k = j;
      while (k < j + 3 && isBridge(tokens[k]) && adjacent(text, tokens[k - 1] as Token, tokens[k] as Token)) k += 1;
      const after = tokens[k];
      if (k > j && after !== undefined && adjacent(text, tokens[k - 1] as Token, after) && fits(after, last)) {
        run.push(...tokens.slice(j, k + 1));
        j = k + 1;
        continue;
      }
      if (!fits(next, last)) break;
      run.push(next);
      j += 1;
    }
    // "I Love Lucy": a verb that is also a name, before a name, is the verb.
    let at = i;
    if (run.length >= 2 && run[0]?.kind === 'ambiguous' && run[0].verbLike && honorific === undefined && !named) {
      run.shift();
      at += 1;
    }
    runs.push({ tokens: run, honorific, named, preceding: tokens.slice(Math.max(0, at - 2), at) });
    i = j;
  }
  return runs;
}
