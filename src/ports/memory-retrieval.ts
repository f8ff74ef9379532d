import type { SearchScope } from '../domain/filters.js';
import type { Memory } from '../domain/memory.js';

/** A lexical search: memories of the scope that contain any of the words. */
export interface WordQuery {
  readonly scope: SearchScope;
  /**
   * The query's content words, as typed (the store stems them). Any one of them is enough for a
   * memory to match: recall first, ranking decides.
   */
  readonly words: readonly string[];
  /** How many matches at most. */
  readonly limit: number;
  /**
   * How many of the best matches come with their memory (without its vector): a search whose page
   * they fill reads no row afterwards. Default 0.
   */
  readonly withMemories?: number;
  /**
   * How many of those come with their vector's sketch too (see sketchOf; the vector itself for a
   * memory not sketched yet) when the user is large (500 memories or more), whose best word
   * matches are rarely among the vector search's: their similarity then needs no read afterwards.
   * A smaller user's are mostly among the vector search's, which tells their similarity. Default 0.
   */
  readonly withSketches?: number;
}

export interface WordMatch {
  readonly id: string;
  /** BM25 relevance over the user's memories: higher is better, unbounded, only for ranking. */
  readonly score: number;
  /** The live memory, for the first `withMemories` matches. */
  readonly memory?: Memory;
  /** The memory's vector sketch (see sketchOf), for the first `withSketches` matches of a large user. */
  readonly sketch?: Uint8Array;
  /** The memory's vector instead, for those of them not sketched yet. */
  readonly embedding?: Float32Array;
}

/** What a search reads from the metadata store before it ranks: the scope's ids and its word matches. */
export interface SearchListsQuery {
  readonly scope: SearchScope;
  /** How many of the scope's memory ids to list at most; null to list none. */
  readonly idsLimit: number | null;
  /**
   * With the ids, the memories themselves (without their vectors) when the scope holds at most this
   * many: a search whose vector query returns all of them reads no row afterwards. Default: none.
   */
  readonly memoriesUpTo?: number;
  /**
   * With the ids, each memory's vector sketch (see sketchOf) when the scope holds at most this
   * many (and fewer than `idsLimit`): a search then ranks them by meaning itself. Default: none.
   */
  readonly sketchesUpTo?: number;
  /** The word search, as in WordQuery; null for none. */
  readonly words: Omit<WordQuery, 'scope'> | null;
}

/** Each list settles on its own: a search needs the ids before the matches. */
export interface SearchLists {
  /** Ids of up to `idsLimit` live memories of the scope, in no given order; null when not asked. */
  readonly ids: Promise<string[]> | null;
  /**
   * The scope's live memories when ids were asked and the scope holds at most `memoriesUpTo`
   * (and fewer than `idsLimit`), in no given order; null otherwise.
   */
  readonly memories: Promise<Memory[] | null> | null;
  /**
   * Each listed memory's vector sketch by id when ids were asked and the scope holds at most
   * `sketchesUpTo` (and fewer than `idsLimit`), all of them sketched; null otherwise.
   */
  readonly sketches: Promise<ReadonlyMap<string, Uint8Array> | null> | null;
  /** The scope's memories holding any of the words, best first; empty when not asked. */
  readonly matches: Promise<WordMatch[]>;
}

/** The turns around one memory in its session (same user), in history order. */
export interface Neighbourhood {
  readonly anchorId: string;
  /** Up to `span` turns right before the memory, oldest first. */
  readonly before: readonly Memory[];
  /** Up to `span` turns right after the memory, oldest first. */
  readonly after: readonly Memory[];
}
