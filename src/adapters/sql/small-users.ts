import { userKey } from './user-key.js';

/** Users remembered at most; the longest remembered go first. */
const MAX_USERS = 10_000;

/**
 * The users whose latest search found them small enough to rank their words from their listing
 * (see rankTurnsByWords), in this process: their next search asks no word statement beside the
 * listing. Only a hint for what to ask: each listing tells again whether the user is still that
 * small, and a user who has grown gets the statement after it. Users are of one tenant: the key
 * holds both.
 */
export class SmallUsers {
  readonly #users = new Set<string>();

  constructor(private readonly maxUsers: number = MAX_USERS) {}

  has(tenantId: string, userId: string): boolean {
    return this.#users.has(userKey(tenantId, userId));
  }

  /** Records what the user's latest listing told of their size. */
  note(tenantId: string, userId: string, small: boolean): void {
    const key = userKey(tenantId, userId);
    // Deleted first, so that a user noted again counts as remembered last.
    this.#users.delete(key);
    if (!small) return;
    if (this.#users.size >= this.maxUsers) {
      const oldest = this.#users.values().next();
      if (oldest.done !== true) this.#users.delete(oldest.value);
    }
    this.#users.add(key);
  }
}
