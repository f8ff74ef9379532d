import type { SearchScope } from '../../domain/filters.js';
import { scopeConditions, SqlParams } from './scope-conditions.js';
import type { SqlStatement } from './sql-client.js';
import type { ScopeTurn, ScopeWords } from './word-ranking.js';
import { SPREAD_SPAN } from './word-search.js';

/** The memories a scope listing brings along when the scope is small (see scopeIdsStatement). */
export interface ListedMemories {
  /** The most memories the scope may hold for them to come. */
  readonly upTo: number;
  /** Columns of `memories m` to bring, `id` among them. */
  readonly columns: string;
}

/** What else a scope listing brings along when the scope is small (see scopeIdsStatement). */
export interface ListedExtras {
  readonly memories?: ListedMemories;
  /** The most memories the scope may hold for their vector sketches to come. */
  readonly sketchesUpTo?: number;
  /** The query's words, to be looked for in each memory of a scope that is a whole user (see ScopeWords). */
  readonly words?: ListedWords;
}

/** The words a scope listing looks for in each memory when the scope is small (see scopeIdsStatement). */
export interface ListedWords {
  /** The most memories the scope may hold for them to come. */
  readonly upTo: number;
  /** The query's words, letters and digits only, joined by spaces (see plainWords). */
  readonly text: string;
  /**
   * Names of the columns of `memories` to bring for each memory that holds one of the words or
   * sits within SPREAD_SPAN turns of one in its session (every memory a word ranking can place).
   */
  readonly columns?: readonly string[];
}

/**
 * Ids of up to `limit` live memories of the scope, walked through the user's index range, in one
 * row: the ids joined by spaces (an id holds none, see IDENTIFIER_PATTERN), null when there are
 * none. A search asks for up to 5,001 of them; one row instead of thousands spares the embedded
 * database a message per row and the caller an object per id. With `memories`, the same row also
 * holds the scope's memories as a JSON array when it lists no more than `memories.upTo` ids, and
 * fewer than `limit` (null otherwise): their rows are read only then, by key. With `sketchesUpTo`,
 * it holds each memory's id and vector sketch as `id:base64` joined by spaces when the scope is at
 * most that large (and smaller than `limit`): read again through the scope's conditions, from the
 * index that holds the sketches (migration 0009) when the scope is the user, in the same snapshot.
 * A memory without a sketch is left out: the caller compares the counts. With `words`, it holds
 * the query's lexemes, the scope's size and each memory that holds one of them or sits near one,
 * with those it holds, in history order (see ScopeWords), as JSON, when the scope is at most
 * `words.upTo` large (and smaller than `limit`): only for a scope that is a whole user, whose words
 * a search then ranks itself. With `words.columns`, each memory that the ranking can place (see
 * ListedWords) comes with those columns too, read with its words, unless the scope is small enough
 * for `memories` to bring all.
 */
export function scopeIdsStatement(scope: SearchScope, limit: number, extras: ListedExtras = {}): SqlStatement {
  const params = new SqlParams();
  const conditions = scopeConditions(scope, params).join(' AND ');
  const listing = `SELECT m.id FROM memories m WHERE ${conditions} LIMIT ${params.add(Math.max(0, Math.floor(limit)))}`;
  const { memories, sketchesUpTo, words } = extras;
  if (memories === undefined && sketchesUpTo === undefined && words === undefined) {
    return { text: `SELECT string_agg(scoped.id, ' ') AS ids FROM (${listing}) scoped`, params: params.values };
  }
  // A listing that stops at its limit may have left memories out: then none come.
  const bounded = (upTo: number): string => params.add(Math.max(0, Math.min(Math.floor(upTo), Math.floor(limit) - 1)));
  const columns = ["(SELECT string_agg(listed.id, ' ') FROM listed) AS ids"];
  // How many ids the listing holds, counted once for every extra that depends on it.
  const listedCount = '(SELECT listed_size.n FROM listed_size)';
  const listedWhole = memories === undefined ? null : bounded(memories.upTo);
  if (memories !== undefined) {
    const tenant = params.add(scope.tenantId);
    columns.push(`(SELECT json_agg(found)::text FROM (
                     SELECT ${memories.columns} FROM memories m
                     WHERE ${listedCount} <= ${listedWhole}
                       AND m.tenant_id = ${tenant} AND m.id IN (SELECT listed.id FROM listed)
                   ) found) AS memories`);
  }
  if (sketchesUpTo !== undefined) {
    const upTo = bounded(sketchesUpTo);
    // Base64 holds no colon, so the last one in a pair ends the id.
    columns.push(`(SELECT string_agg(m.id || ':' || encode(m.sketch, 'base64'), ' ') FROM memories m
                   WHERE ${listedCount} <= ${upTo} AND ${conditions}) AS sketches`);
  }
  if (words !== undefined) {
    const upTo = bounded(words.upTo);
    const text = params.add(words.text);
    // A turn near one that holds a word may borrow from it (see SPREAD_SPAN): both come with their
    // memory's columns.
    const memory =
      words.columns === undefined
        ? 'NULL'
        : `CASE WHEN ${listedWhole === null ? 'true' : `${listedCount} > ${listedWhole}`}
             THEN json_build_object(${words.columns.map((name) => `'${name}', turn.${name}`).join(', ')}) END`;
    // A memory holds a lexeme when it matches it as a query, as the word statement tests them.
    columns.push(`(SELECT json_build_array(q.lexemes, ${listedCount}, (
                     SELECT json_agg(json_build_array(turn.turn_id, turn.turn_session, turn.lexeme_count, turn.places, ${memory})
                            ORDER BY turn.turn_session, turn.turn_at, turn.turn_ordinal) FILTER (WHERE turn.near)
                     FROM (
                       SELECT m.id AS turn_id, m.session_id AS turn_session, m.created_at AS turn_at, m.ordinal AS turn_ordinal,
                              length(m.search_terms) AS lexeme_count,
                              CASE WHEN m.search_terms @@ q.any_word THEN (
                                SELECT array_agg(w.place) FROM unnest(q.queries) WITH ORDINALITY AS w(query, place) WHERE m.search_terms @@ w.query
                              ) END AS places,
                              bool_or(m.search_terms @@ q.any_word) OVER (
                                PARTITION BY m.session_id ORDER BY m.created_at, m.ordinal ROWS BETWEEN ${SPREAD_SPAN} PRECEDING AND ${SPREAD_SPAN} FOLLOWING
                              ) AS near
                              ${words.columns === undefined ? '' : `, ${words.columns.map((name) => `m.${name}`).join(', ')}`}
                       FROM memories m
                       WHERE ${conditions}
                     ) turn
                   ))::text
                   FROM (
                     SELECT array_agg(lexeme ORDER BY lexeme) AS lexemes, array_agg(to_tsquery('simple'::regconfig, lexeme) ORDER BY lexeme) AS queries,
                            to_tsquery('simple'::regconfig, string_agg(lexeme, ' | ')) AS any_word
                     FROM (SELECT DISTINCT lexeme FROM unnest(to_tsvector('english'::regconfig, ${text}))) found
                   ) q
                   WHERE ${listedCount} <= ${upTo}) AS words`);
  }
  return {
    text: `WITH listed AS MATERIALIZED (${listing}), listed_size AS MATERIALIZED (SELECT count(*) AS n FROM listed) SELECT ${columns.join(', ')}`,
    params: params.values,
  };
}

/** The ids in the answer of scopeIdsStatement. */
export function idsOfScopeRows(rows: ReadonlyArray<{ readonly ids?: string | null }>): string[] {
  return listsNoId(rows) ? [] : (rows[0]?.ids ?? '').split(' ');
}

/** Whether the answer of scopeIdsStatement lists no id, told without splitting the thousands it may list. */
function listsNoId(rows: ReadonlyArray<{ readonly ids?: string | null }>): boolean {
  const joined = rows[0]?.ids;
  return joined === undefined || joined === null || joined === '';
}

/** The memories in the answer of scopeIdsStatement with `memories`: null when the scope held too many. */
export function memoriesOfScopeRows<Row>(rows: ReadonlyArray<{ readonly ids?: string | null; readonly memories?: string | null }>): Row[] | null {
  const found = rows[0]?.memories;
  if (found !== undefined && found !== null) return JSON.parse(found) as Row[];
  // No memory at all is a scope small enough; otherwise it held more than asked for.
  return listsNoId(rows) ? [] : null;
}

/**
 * The sketches in the answer of scopeIdsStatement with `sketchesUpTo`, by id: null when the scope
 * held too many, or when one of its memories has no sketch yet.
 */
export function sketchesOfScopeRows(rows: ReadonlyArray<{ readonly ids?: string | null; readonly sketches?: string | null }>): Map<string, Uint8Array> | null {
  const joined = rows[0]?.sketches;
  if (joined === undefined || joined === null || joined === '') return listsNoId(rows) ? new Map() : null;
  const sketches = new Map<string, Uint8Array>();
  for (const pair of joined.split(' ')) {
    const colon = pair.lastIndexOf(':');
    // Postgres breaks base64 into lines, which the decoder skips.
    sketches.set(pair.slice(0, colon), Buffer.from(pair.slice(colon + 1), 'base64'));
  }
  // Only a scope small enough for its sketches gets here: its ids are few.
  return sketches.size === idsOfScopeRows(rows).length ? sketches : null;
}

/**
 * A memory in the JSON of scopeIdsStatement's `words`: id, session, lexeme count, places held
 * (1-based) or null, and its columns when asked for.
 */
type ListedTurn<Row> = [string, string, number, number[] | null, Row | null];

/** A whole user's words as their listing brought them, and the memories that came with them. */
export interface ListedScopeWords<Row> {
  readonly words: ScopeWords;
  /** The memories a word ranking can place, when their columns were asked for (see ListedWords). */
  readonly memories: Row[];
}

/**
 * The words in the answer of scopeIdsStatement with `words`: null when the scope held too many.
 * The query's lexemes are null when it has none but stopwords, the turns when none is brought.
 */
export function wordsOfScopeRows<Row>(rows: ReadonlyArray<{ readonly words?: string | null }>): ListedScopeWords<Row> | null {
  const found = rows[0]?.words;
  if (found === undefined || found === null) return null;
  const [lexemes, population, listed] = JSON.parse(found) as [string[] | null, number, Array<ListedTurn<Row>> | null];
  const memories: Row[] = [];
  const turns = (listed ?? []).map(([id, sessionId, lexemeCount, places, memory]): ScopeTurn => {
    if (memory !== null && memory !== undefined) memories.push(memory);
    return { id, sessionId, lexemeCount, holds: (places ?? []).map((place) => place - 1) };
  });
  return { words: { lexemes: lexemes ?? [], population, turns }, memories };
}
