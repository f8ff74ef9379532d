import { BETWEEN_WORDS } from '../../domain/words.js';
import type { WordQuery } from '../../ports/memory-retrieval.js';
import { narrowingConditions, SqlParams } from './scope-conditions.js';
import type { SqlStatement } from './sql-client.js';

/**
 * BM25's term-frequency saturation. A chat turn rarely repeats a word, so each word counts once
 * (which spares unpacking every matched turn's terms) and K1 only shapes the length normalisation.
 */
export const K1 = 1.2;
/** BM25 length normalisation: 0 ignores a memory's length, 1 divides fully by it; chat turns are short, so a light touch. */
export const B = 0.4;

/**
 * Keeps letters (with their combining marks) and digits only: the words are joined into one text
 * for `to_tsvector`, and the lexemes it gives back are joined into a `tsquery`, where punctuation
 * would be syntax.
 */
export function plainWords(words: readonly string[]): string {
  return words
    .flatMap((word) => word.normalize('NFKC').split(BETWEEN_WORDS))
    .filter((word) => word !== '')
    .join(' ');
}

/**
 * A turn lends part of its score to the turns around it: in a conversation the answer often sits
 * next to the turn that shares the question's words ("What did you adopt?" / "A puppy!"). A
 * neighbour at distance d gets SPREAD × SPREAD_DECAY^(d-1) of the turn's score, and keeps the
 * largest loan on top of its own score.
 */
export const SPREAD = 0.7;
export const SPREAD_DECAY = 0.5;
/** How many turns on each side of a matched turn receive a loan. */
export const SPREAD_SPAN = 2;
/** How many of the best matches lend to their neighbours: the rest are too weak to matter. */
export const LENDERS = 100;
/**
 * Bounds on the work of one search, whatever the size of the user. Document frequencies are
 * counted up to DF_CAP and the population up to POPULATION_CAP: past those, a word is simply
 * "common" and the ranking barely changes. The two caps keep a 1:2.5 ratio, so a word in 40% of a
 * large user's memories weighs what it would uncapped; users under POPULATION_CAP (a LoCoMo
 * conversation has about 400 turns) are counted exactly. Candidates come from the rarest query
 * words only, until their frequencies add up to CANDIDATE_CAP; commoner words still score those
 * candidates. A memory that holds none of the rarer words would rank low anyway, so a heavy
 * user's search costs about what a light one's does. A word counted up to DF_CAP gives no
 * candidates at all: the few of its hundreds or thousands of memories that a bound lets through
 * are the first the index holds, not the best, and would take the first places of the fused
 * ranking from the vector search's. A query of such words only finds no match by words (see
 * COUNTS_TO_KEEP).
 */
export const DF_CAP = 500;
export const POPULATION_CAP = 1_250;
export const CANDIDATE_CAP = 1_000;
/**
 * When even the rarest query word is in more memories than CANDIDATE_CAP (but under DF_CAP), its
 * matches score about alike; this many of each candidate word bound the work.
 */
const MATCH_CAP = 500;
/**
 * A large user's search (LARGE_USER_FROM memories or more) is bounded tighter: an eighth of the
 * candidates and matches, and the best 10 matches lend, each walking the history index. On one
 * user of 100k memories the word statement took 1.9-2.2 ms, against 3.0-4.6 ms with twice these
 * bounds (alternated) and 9.4-9.6 ms with a small user's (in-process PGlite). LoCoMo asked after
 * 20k distractor turns per conversation (`npm run eval:locomo -- --distractors 20000`) gave
 * R@5/10/25 61.5/70.7/80.3, against 60.4/71.3/78.9 with twice these bounds and 58.0/70.9/77.9
 * with a small user's (see docs/retrieval.md). Smaller users keep theirs.
 */
const LARGE_USER = { candidates: 125, matches: 64, lenders: 10 } as const;
/**
 * Where a user's search takes LARGE_USER's bounds, and walks the history index from its lenders
 * rather than passing over the whole history. At POPULATION_CAP, as it was, users just under it
 * cost the most of any size: 50 users of 1,200 memories (`npm run bench -- --scale 60k --users
 * 50`, embedded) ran 84 searches/s with 8 clients at 15.7 ms of Engram's CPU each, against 144/s
 * and 9.2 ms from 500. LoCoMo asked after 800 distractor turns per conversation (users of about
 * 1,200): R@5/10/25 61.5/72.3/82.1 and 61.6/71.9/82.1 from 500, 59.0/72.2/81.1 and 58.8/73.3/81.1
 * from POPULATION_CAP; after 200 (about 600): 61.3/73.6/83.9 against 62.4/73.1/83.0. Both LoCoMo
 * conversations (369 and 419 turns) stay under it.
 */
export const LARGE_USER_FROM = 500;

/**
 * What a statement for the same user counted before, and may take as told: the size of their
 * population when it was LARGE_USER_FROM or more (POPULATION_CAP when it reached the cap), and the
 * words found in DF_CAP of their memories or more. A statement that knows them ranks as if it had
 * counted them again (see KnownWordCounts). Counting a population of 500-1,249 took 0.3-0.4 ms of
 * a word statement's 2.3-2.5 on 50 users of 1,200 memories (in-process PGlite, p50 of 400 queries):
 * one more index entry read for each of the user's memories.
 */
export interface KnownCounts {
  readonly population: number | null;
  /** Words as the statement stems them (lexemes). */
  readonly commonWords: readonly string[];
}

const COUNTED_IN_FULL: KnownCounts = { population: null, commonWords: [] };

/** The population as the statement counted it (not told: see KnownCounts), when it is worth keeping. */
const POPULATION_TO_KEEP = `FROM population WHERE NOT known AND n >= ${LARGE_USER_FROM}`;
/** The words whose count the statement made itself and that reached their cap. */
const WORDS_COUNTED_TO_CAP = `FROM frequency WHERE NOT known AND df >= ${DF_CAP}`;

/**
 * The counts a statement made itself that are worth keeping (see KnownCounts), beside every row:
 * null when there are none. Lexemes are letters and digits only (see plainWords), so a space
 * divides them.
 */
const LEARNED_COLUMNS = `(SELECT n ${POPULATION_TO_KEEP}) AS counted_population,
          (SELECT string_agg(lexeme, ' ') ${WORDS_COUNTED_TO_CAP}) AS counted_common_words`;

/**
 * Whether the statement counted anything worth keeping itself: a statement without a match then
 * answers one row of its own, whose id and score are null, to hand its counts back (a query of
 * common words only, which gives no candidates: told its counts, the user's next one is cheap).
 */
const COUNTS_TO_KEEP = `(EXISTS (SELECT 1 ${POPULATION_TO_KEEP}) OR EXISTS (SELECT 1 ${WORDS_COUNTED_TO_CAP}))`;

/** The counts worth keeping in a word search's row, to be known for the user's next one. */
export function countsToKeep(row: { readonly counted_population?: unknown; readonly counted_common_words?: unknown }): KnownCounts {
  const words = row.counted_common_words;
  const population = Number(row.counted_population ?? Number.NaN);
  return {
    population: Number.isFinite(population) ? population : null,
    commonWords: typeof words === 'string' && words !== '' ? words.split(' ') : [],
  };
}

/**
 * Columns of a matched memory (of `memories m`, `id` and `score` excepted) that the statement
 * returns beside each of the best `count` matches; the other matches get nulls. The first
 * `sketches` of a large user's (LARGE_USER_FROM memories or more) come with the vector's sketch too,
 * as `sketch` (or with the vector itself, as `embedding`, while the memory has no sketch): their
 * best word matches are rarely among the vector search's, so their similarity needs one, which
 * would otherwise be read with their rows after the vector search. A sketch is a quarter of the
 * vector and kept in the row, where the vector is kept apart from it (TOAST).
 */
export interface MatchedRows {
  readonly count: number;
  readonly columns: string;
  /** How many of them come with their sketch when the user is large. */
  readonly sketches: number;
  /** The sketch's expression (of `memories m`), null where the memory has none. */
  readonly sketch: string;
  /** The vector's expression (of `memories m`), for a memory without a sketch. */
  readonly vector: string;
}

export interface WordSearchTuning {
  /**
   * Users with fewer live memories than this find their best matches' neighbours in one pass over
   * their history, in order, each turn looking at the matches just before and after it; larger
   * users walk out from each match through the history index. One pass reads every turn of the
   * user once, where walking reads two short index ranges per match: cheaper for the many small
   * users, and bounded for the few large ones. Both give the same loans. Default LARGE_USER_FROM.
   */
  readonly historyPassBelow?: number;
}

/**
 * One statement that ranks the scope's memories holding any of the words by Okapi BM25. Document
 * frequencies and the population are the user's (whatever else the scope narrows), so a word that
 * is in every memory (a speaker's name, say) weighs almost nothing, a rare one a lot. Words are
 * looked up in `memory_terms` (one index range per word of the user: migration 0005); stemming
 * and stopwords are the English configuration's, as in the stored column. The best matches then
 * lend score to their neighbours in the session's history (same user, in the scope), found in
 * one pass over a small user's history or by walking the history index (see WordSearchTuning).
 * Null when no word is left to look for. Counts that `known` holds are taken as told, and every
 * row carries the counts worth keeping that it made (see countsToKeep).
 */
export function wordSearchStatement(query: WordQuery, tuning: WordSearchTuning = {}, rows?: MatchedRows, known: KnownCounts = COUNTED_IN_FULL): SqlStatement | null {
  const text = plainWords(query.words);
  if (text === '' || query.limit < 1) return null;
  const params = new SqlParams();
  const words = params.add(text);
  const limit = params.add(Math.floor(query.limit));
  const tenant = params.add(query.scope.tenantId);
  const user = params.add(query.scope.userId);
  const commonWords = params.add([...known.commonWords]);
  const knownPopulation = params.add(known.population);
  // The scope past its tenant, its user and being live, which every walk of memories here holds
  // already: a turn's place in the scope is read from the index of their history alone.
  const narrowing = ['true', ...narrowingConditions(query.scope, params)].join(' AND ');
  const withRows =
    rows === undefined || rows.count < 1
      ? null
      : {
          columns: rows.columns,
          sketch: rows.sketch,
          vector: rows.vector,
          count: params.add(Math.floor(rows.count)),
          sketches: params.add(Math.max(0, Math.floor(rows.sketches))),
        };
  const historyPassBelow = Math.max(0, Math.floor(tuning.historyPassBelow ?? LARGE_USER_FROM));
  // A turn's loan from the lenders up to SPREAD_SPAN turns before and after it in its session.
  const loansInPass = Array.from({ length: SPREAD_SPAN }, (_, step) =>
    ['lag', 'lead'].map((direction) => `${SPREAD} * power(${SPREAD_DECAY}, ${step + 1} - 1) * ${direction}(t.score, ${step + 1}) OVER history`),
  ).flat();
  const neighbours = (side: 'before' | 'after') => {
    const [comparison, order] = side === 'before' ? ['<', 'DESC'] : ['>', 'ASC'];
    return `SELECT m.id, row_number() OVER (ORDER BY m.created_at ${order}, m.ordinal ${order}) AS distance, (${narrowing}) AS in_scope
            FROM memories m
            WHERE m.tenant_id = ${tenant} AND m.user_id = l.user_id AND m.session_id = l.session_id AND NOT m.deleted
              AND (m.created_at, m.ordinal) ${comparison} (l.created_at, l.ordinal)
            ORDER BY m.created_at ${order}, m.ordinal ${order}
            LIMIT ${SPREAD_SPAN}`;
  };
  // The small CTEs are MATERIALIZED: computed once, rather than inlined into a loop by a planner
  // that guesses their sizes badly.
  return {
    text: `WITH terms AS MATERIALIZED (
             SELECT lexeme, to_tsquery('simple'::regconfig, lexeme) AS query, lexeme = ANY (${commonWords}::text[]) AS known
             FROM (SELECT DISTINCT lexeme FROM unnest(to_tsvector('english'::regconfig, ${words}))) found
           ),
           frequency AS MATERIALIZED (
             SELECT t.lexeme, t.query, t.known,
                    CASE WHEN t.known THEN ${DF_CAP}
                         ELSE (SELECT count(*) FROM (
                                 SELECT 1 FROM memory_terms mt
                                 WHERE mt.tenant_id = ${tenant} AND mt.user_id = ${user} AND mt.lexeme = t.lexeme
                                 LIMIT ${DF_CAP}) capped)
                    END::float8 AS df
             FROM terms t
           ),
           -- COALESCE stops at a known population: the count below is then never run.
           population AS MATERIALIZED (
             SELECT coalesce(${knownPopulation}::float8, (SELECT count(*) FROM (
                      SELECT 1 FROM memories m WHERE m.tenant_id = ${tenant} AND m.user_id = ${user} AND NOT m.deleted LIMIT ${POPULATION_CAP}
                    ) capped)::float8) AS n,
                    ${knownPopulation}::float8 IS NOT NULL AS known
           ),
           bounds AS MATERIALIZED (
             SELECT CASE WHEN n < ${LARGE_USER_FROM} THEN ${CANDIDATE_CAP} ELSE ${LARGE_USER.candidates} END::float8 AS candidates,
                    CASE WHEN n < ${LARGE_USER_FROM} THEN ${MATCH_CAP} ELSE ${LARGE_USER.matches} END::bigint AS matches,
                    CASE WHEN n < ${LARGE_USER_FROM} THEN ${LENDERS} ELSE ${LARGE_USER.lenders} END::bigint AS lenders,
                    ${withRows?.count ?? 0}::bigint AS memories,
                    CASE WHEN n < ${LARGE_USER_FROM} THEN 0 ELSE ${withRows?.sketches ?? 0} END::bigint AS sketches
             FROM population
           ),
           seeds AS MATERIALIZED (
             SELECT lexeme FROM (
               SELECT lexeme,
                      sum(df) OVER (ORDER BY df, lexeme ROWS UNBOUNDED PRECEDING) AS running,
                      row_number() OVER (ORDER BY df, lexeme) AS rarity
               FROM frequency WHERE df > 0 AND df < ${DF_CAP}
             ) rarest_first
             WHERE running <= (SELECT candidates FROM bounds) OR rarity = 1
           ),
           matched AS MATERIALIZED (
             SELECT DISTINCT ON (found.id) found.id, found.search_terms, greatest(length(found.search_terms), 1)::float8 AS len
             FROM seeds s
             CROSS JOIN LATERAL (
               SELECT m.id, m.user_id, m.deleted, m.search_terms
               FROM memory_terms mt
               JOIN memories m ON m.tenant_id = ${tenant} AND m.id = mt.memory_id
               WHERE mt.tenant_id = ${tenant} AND mt.user_id = ${user} AND mt.lexeme = s.lexeme AND ${narrowing}
               LIMIT (SELECT matches FROM bounds)
             ) found
             -- The trigger keeps a term's user its memory's, and terms of live memories only. The
             -- lookup above leaves both out: every other index of memories is of live ones, so
             -- without those conditions no planner (least of all one without statistics) walks
             -- the user's memories instead of looking each one up by its key.
             WHERE found.user_id = ${user} AND NOT found.deleted
           ),
           occurrences AS (
             SELECT matched.id, matched.len, f.df
             FROM matched JOIN frequency f ON f.df > 0 AND matched.search_terms @@ f.query
           ),
           average AS MATERIALIZED (
             SELECT avg(len) AS len FROM matched
           ),
           scored AS (
             SELECT o.id,
                    sum(ln(1 + (greatest(p.n, o.df) - o.df + 0.5) / (o.df + 0.5))
                        * ${K1 + 1} / (1 + ${K1} * (1 - ${B} + ${B} * o.len / a.len))) AS score
             FROM occurrences o
             CROSS JOIN population p
             CROSS JOIN average a
             GROUP BY o.id
           ),
           -- As arrays, so that a pass over the history finds each turn's score through a hash,
           -- whatever size a planner guesses for them.
           lenders AS MATERIALIZED (
             SELECT array_agg(id) AS ids, array_agg(score) AS scores
             FROM (SELECT id, score FROM scored ORDER BY score DESC, id LIMIT (SELECT lenders FROM bounds)) best
           ),
           lent AS (
             SELECT lent.id, lent.score FROM lenders, unnest(lenders.ids, lenders.scores) AS lent(id, score)
           ),
           loans AS (
             SELECT id, loan FROM (
               SELECT t.id, t.in_scope, greatest(${loansInPass.join(', ')}) AS loan
               FROM (
                 SELECT m.id, m.session_id, m.created_at, m.ordinal, (${narrowing}) AS in_scope, l.score
                 FROM memories m LEFT JOIN lent l ON l.id = m.id
                 WHERE m.tenant_id = ${tenant} AND m.user_id = ${user} AND NOT m.deleted
                   AND (SELECT n FROM population) < ${historyPassBelow}
               ) t
               WINDOW history AS (PARTITION BY t.session_id ORDER BY t.created_at, t.ordinal)
             ) pass
             WHERE pass.in_scope AND pass.loan IS NOT NULL
             UNION ALL
             SELECT n.id, ${SPREAD} * power(${SPREAD_DECAY}, n.distance - 1) * l.score AS loan
             FROM (
               SELECT m.id, l.score, m.user_id, m.session_id, m.created_at, m.ordinal
               FROM lent l JOIN memories m ON m.tenant_id = ${tenant} AND m.id = l.id
               WHERE (SELECT n FROM population) >= ${historyPassBelow}
             ) l
             CROSS JOIN LATERAL (
               (${neighbours('before')})
               UNION ALL
               (${neighbours('after')})
             ) n
             WHERE n.in_scope
           ),
           combined AS (
             SELECT id, score, 0::float8 AS loan FROM scored
             UNION ALL
             SELECT id, 0::float8, loan FROM loans
           )
           , best AS (
             SELECT id, max(score) + max(loan) AS score
             FROM combined
             GROUP BY id
             ORDER BY score DESC, id
             LIMIT ${limit}
           )
           ${withRows === null ? readPlaces : readBest(tenant, withRows)}`,
    params: params.values,
  };
}

/**
 * The CTE `best`'s matches in order, each with a place (1 for the best); a statement without a
 * match that made counts worth keeping gives one row with nulls instead, for its counts (see
 * COUNTS_TO_KEEP).
 */
const PLACES = `SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS place FROM best
           UNION ALL
           SELECT NULL, NULL, NULL WHERE NOT EXISTS (SELECT 1 FROM best) AND ${COUNTS_TO_KEEP}`;

/** The tail of a statement that reads its ranked matches (see PLACES) without their memories. */
const readPlaces = `SELECT b.id, b.score, ${LEARNED_COLUMNS}
          FROM (${PLACES}) b
          ORDER BY b.score DESC, b.id`;

/**
 * The tail of a statement whose ranked matches are the CTE `best` (see PLACES): each match in
 * order, the first `bounds.memories` with the columns of their live memory, the first
 * `bounds.sketches` with its sketch too (its vector where it has none). The other matches skip the
 * read outright: the lateral read is not merged into the join (its LIMIT keeps it apart), so its
 * test of the place is made once per match, before any lookup.
 */
function readBest(tenant: string, rows: { readonly columns: string; readonly sketch: string; readonly vector: string }): string {
  return `SELECT b.id, b.score, ${LEARNED_COLUMNS}, m.*
          FROM (${PLACES}) b
          LEFT JOIN LATERAL (
            SELECT ${rows.columns},
                   CASE WHEN b.place <= (SELECT sketches FROM bounds) THEN ${rows.sketch} END AS sketch,
                   CASE WHEN b.place <= (SELECT sketches FROM bounds) AND ${rows.sketch} IS NULL THEN ${rows.vector} END AS embedding
            FROM memories m
            WHERE b.place <= (SELECT memories FROM bounds) AND m.tenant_id = ${tenant} AND m.id = b.id AND NOT m.deleted
            LIMIT 1
          ) m ON true
          ORDER BY b.score DESC, b.id`;
}
