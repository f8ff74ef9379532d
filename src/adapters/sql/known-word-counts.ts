import { userKey } from './user-key.js';
import type { KnownCounts } from './word-search.js';

/**
 * How long a count stays trusted: a user's writes and deletes change it meanwhile (a population of
 * 1,000 that took 60 writes is 6% off, a word's count may fall below its cap), which only shifts
 * weights.
 */
const TRUSTED_MS = 60_000;
/**
 * Users remembered at most; the longest remembered go first. Only a user with 500 memories or more
 * has a count worth keeping: a store of 100k memories holds 200 such users at most.
 */
const MAX_USERS = 1_000;
/** Words remembered per user at most: a statement is handed all of them, and only a user's commonest words reach the cap. */
const MAX_WORDS_PER_USER = 256;

const NOTHING_KNOWN: KnownCounts = { population: null, commonWords: [] };

interface UserCounts {
  /** The user's population as last counted, and until when it is trusted (0: not known). */
  population: number;
  populationUntil: number;
  /** Word → until when it is known to be in the frequency cap of the user's memories or more. */
  readonly words: Map<string, number>;
}

export interface KnownWordCountsOptions {
  readonly trustedMs?: number;
  readonly maxUsers?: number;
  readonly maxWordsPerUser?: number;
  readonly now?: () => number;
}

/**
 * The counts of a large user's word search worth keeping (see KnownCounts), kept for a minute in
 * this process so that the user's next searches skip them. Counting a word's memories up to the
 * cap, and the user's memories, was most of a large user's word search; a word's count below its
 * cap is cheap, and is made again each time. Counts are a user's, of one tenant: the key holds
 * both.
 */
export class KnownWordCounts {
  readonly #users = new Map<string, UserCounts>();
  readonly #trustedMs: number;
  readonly #maxUsers: number;
  readonly #maxWords: number;
  readonly #now: () => number;

  constructor(options: KnownWordCountsOptions = {}) {
    this.#trustedMs = options.trustedMs ?? TRUSTED_MS;
    this.#maxUsers = options.maxUsers ?? MAX_USERS;
    this.#maxWords = options.maxWordsPerUser ?? MAX_WORDS_PER_USER;
    this.#now = options.now ?? Date.now;
  }

  /** What is known of the user's counts now. */
  of(tenantId: string, userId: string): KnownCounts {
    const key = userKey(tenantId, userId);
    const counts = this.#users.get(key);
    if (counts === undefined) return NOTHING_KNOWN;
    const now = this.#now();
    const commonWords: string[] = [];
    for (const [word, until] of counts.words) {
      if (until > now) commonWords.push(word);
      else counts.words.delete(word);
    }
    const population = counts.populationUntil > now ? counts.population : null;
    if (population === null && commonWords.length === 0) {
      this.#users.delete(key);
      return NOTHING_KNOWN;
    }
    return { population, commonWords };
  }

  /** Forgets what is known of the user: their memories were erased. */
  forget(tenantId: string, userId: string): void {
    this.#users.delete(userKey(tenantId, userId));
  }

  /** Records the counts worth keeping that a statement made (it hands back none it was told). */
  learn(tenantId: string, userId: string, counted: KnownCounts): void {
    if (counted.population === null && counted.commonWords.length === 0) return;
    const key = userKey(tenantId, userId);
    let counts = this.#users.get(key);
    if (counts === undefined) {
      if (this.#users.size >= this.#maxUsers) forgetOldest(this.#users);
      counts = { population: 0, populationUntil: 0, words: new Map() };
      this.#users.set(key, counts);
    }
    const until = this.#now() + this.#trustedMs;
    if (counted.population !== null) {
      counts.population = counted.population;
      counts.populationUntil = until;
    }
    for (const word of counted.commonWords) {
      counts.words.delete(word);
      if (counts.words.size >= this.#maxWords) forgetOldest(counts.words);
      counts.words.set(word, until);
    }
  }
}

/** Maps keep their insertion order: the first key is the longest held. */
function forgetOldest(map: Map<string, unknown>): void {
  const oldest = map.keys().next();
  if (oldest.done !== true) map.delete(oldest.value);
}
