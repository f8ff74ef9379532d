import { userKey } from './user-key.js';
import type { KnownCounts } from './word-search.js';

/** How long a count stays trusted: a user's deletes may take it below its cap meanwhile, which only shifts weights. */
const TRUSTED_MS = 60_000;
/**
 * Users remembered at most; the longest remembered go first. Only a user with 500 memories or more
 * has a count at a cap: a store of 100k memories holds 200 such users at most.
 */
const MAX_USERS = 1_000;
/** Words remembered per user at most: a statement is handed all of them, and only a user's commonest words reach the cap. */
const MAX_WORDS_PER_USER = 256;

const NOTHING_KNOWN: KnownCounts = { populationCapped: false, commonWords: [] };

interface UserCounts {
  /** Until when the user's memories are known to reach the population cap (0: not known). */
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
 * The counts of a large user's word search that reached their caps (see wordSearchStatement), kept
 * for a minute in this process so that the user's next searches skip them. Counting a word's
 * memories up to the cap, and the user's memories up to theirs, was most of a large user's word
 * search; a count below its cap is cheap, and is made again each time. Counts are a user's, of one
 * tenant: the key holds both.
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
    const populationCapped = counts.populationUntil > now;
    if (!populationCapped && commonWords.length === 0) {
      this.#users.delete(key);
      return NOTHING_KNOWN;
    }
    return { populationCapped, commonWords };
  }

  /** Forgets what is known of the user: their memories were erased. */
  forget(tenantId: string, userId: string): void {
    this.#users.delete(userKey(tenantId, userId));
  }

  /** Records the counts a statement made that reached their caps (it hands back none it was told). */
  learn(tenantId: string, userId: string, counted: KnownCounts): void {
    if (!counted.populationCapped && counted.commonWords.length === 0) return;
    const key = userKey(tenantId, userId);
    let counts = this.#users.get(key);
    if (counts === undefined) {
      if (this.#users.size >= this.#maxUsers) forgetOldest(this.#users);
      counts = { populationUntil: 0, words: new Map() };
      this.#users.set(key, counts);
    }
    const until = this.#now() + this.#trustedMs;
    if (counted.populationCapped) counts.populationUntil = until;
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
