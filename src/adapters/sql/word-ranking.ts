import { B, CANDIDATE_CAP, DF_CAP, K1, LARGE_USER_FROM, LENDERS, SPREAD, SPREAD_DECAY, SPREAD_SPAN } from './word-search.js';

/** One memory of a scope, as a word ranking needs it. */
export interface ScopeTurn {
  readonly id: string;
  readonly sessionId: string;
  /** How many distinct words (lexemes) the memory holds. */
  readonly lexemeCount: number;
  /** Which of the query's lexemes it holds, as places in `ScopeWords.lexemes`. */
  readonly holds: readonly number[];
}

/** A whole user's memories with the query's words in them (see scopeIdsStatement with `words`). */
export interface ScopeWords {
  /** The query's lexemes, stemmed as the stored words are, in the database's order. */
  readonly lexemes: readonly string[];
  /** How many live memories the user holds. */
  readonly population: number;
  /**
   * Every live memory of the user that holds one of the lexemes or sits within SPREAD_SPAN turns
   * of one in its session (the others can neither match nor borrow), each session's together,
   * oldest first within it.
   */
  readonly turns: readonly ScopeTurn[];
}

export interface RankedWordMatch {
  readonly id: string;
  readonly score: number;
}

/**
 * Ranks a small user's memories by the query's words as wordSearchStatement does, from the words
 * read with the user's listing rather than by a statement of its own: the same BM25 weights, seed
 * words, loans to the turns around the best matches, and order. Only for a whole user of fewer
 * than LARGE_USER_FROM memories (a small user's bounds; every count is then exact, and the history
 * is read whole). Scores may differ from the statement's in the last bit (a sum in another
 * order); memories of equal score are ordered by id in code-unit order, which is the statement's
 * order under the C collation.
 */
export function rankTurnsByWords({ lexemes, population, turns }: ScopeWords, limit: number): RankedWordMatch[] {
  if (limit < 1 || lexemes.length === 0 || population >= LARGE_USER_FROM) return [];
  const frequency = new Array<number>(lexemes.length).fill(0);
  for (const turn of turns) for (const place of turn.holds) frequency[place] = Math.min((frequency[place] ?? 0) + 1, DF_CAP);
  const seeds = seedWords(frequency);
  const matched = turns.filter((turn) => turn.holds.some((place) => seeds.has(place)));
  if (matched.length === 0) return [];
  const lengthOf = (turn: ScopeTurn): number => Math.max(turn.lexemeCount, 1);
  const averageLength = matched.reduce((sum, turn) => sum + lengthOf(turn), 0) / matched.length;
  const scores = new Map<string, number>();
  for (const turn of matched) {
    let score = 0;
    for (const place of turn.holds) {
      const df = frequency[place] ?? 0;
      score +=
        (Math.log(1 + (Math.max(population, df) - df + 0.5) / (df + 0.5)) * (K1 + 1)) /
        (1 + K1 * (1 - B + (B * lengthOf(turn)) / averageLength));
    }
    scores.set(turn.id, score);
  }
  const loans = loansOf(turns, scores);
  const ranked: RankedWordMatch[] = [];
  for (const id of new Set([...scores.keys(), ...loans.keys()])) ranked.push({ id, score: (scores.get(id) ?? 0) + (loans.get(id) ?? 0) });
  return ranked.sort(byScoreThenId).slice(0, Math.floor(limit));
}

/**
 * The places of the words whose memories are candidates: the rarest first, until their
 * frequencies add up to CANDIDATE_CAP, and always the rarest one. Ties go by the lexemes' order.
 */
function seedWords(frequency: readonly number[]): Set<number> {
  const rarestFirst = frequency
    .map((df, place) => ({ df, place }))
    .filter(({ df }) => df > 0)
    .sort((a, b) => a.df - b.df || a.place - b.place);
  const seeds = new Set<number>();
  let running = 0;
  for (const { df, place } of rarestFirst) {
    running += df;
    if (running > CANDIDATE_CAP && seeds.size > 0) break;
    seeds.add(place);
  }
  return seeds;
}

/**
 * The largest loan each turn gets from the best LENDERS matches up to SPREAD_SPAN turns before or
 * after it in its session: SPREAD × SPREAD_DECAY^(d-1) of the lender's score at distance d.
 */
function loansOf(turns: readonly ScopeTurn[], scores: ReadonlyMap<string, number>): Map<string, number> {
  const lenders = new Map([...scores].map(([id, score]) => ({ id, score })).sort(byScoreThenId).slice(0, LENDERS).map(({ id, score }) => [id, score]));
  const loans = new Map<string, number>();
  turns.forEach((turn, place) => {
    let loan: number | undefined;
    for (let distance = 1; distance <= SPREAD_SPAN; distance += 1) {
      for (const neighbour of [turns[place - distance], turns[place + distance]]) {
        const lent = neighbour !== undefined && neighbour.sessionId === turn.sessionId ? lenders.get(neighbour.id) : undefined;
        if (lent === undefined) continue;
        const offered = SPREAD * SPREAD_DECAY ** (distance - 1) * lent;
        loan = loan === undefined ? offered : Math.max(loan, offered);
      }
    }
    if (loan !== undefined) loans.set(turn.id, loan);
  });
  return loans;
}

function byScoreThenId(a: RankedWordMatch, b: RankedWordMatch): number {
  return b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
