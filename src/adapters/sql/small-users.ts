import { LruMap } from '../lru-map.js';
import { userKey } from './user-key.js';

/** Users remembered at most; the least recently searched go first. */
const MAX_USERS = 10_000;

/**
 * The users whose latest search found them small enough to rank their words from their listing
 * (see rankTurnsByWords), in this process: their next search asks no word statement beside the
 * listing. Only a hint for what to ask: each listing tells again whether the user is still that
 * small, and a user who has grown gets the statement after it. Users are of one tenant: the key
 * holds both.
 */
export class SmallUsers {
  readonly #users: LruMap<string, true>;

  constructor(maxUsers: number = MAX_USERS) {
    this.#users = new LruMap(maxUsers);
  }

  has(tenantId: string, userId: string): boolean {
    return this.#users.get(userKey(tenantId, userId)) === true;
  }

  /** Records what the user's latest listing told of their size. */
  note(tenantId: string, userId: string, small: boolean): void {
    const key = userKey(tenantId, userId);
    if (small) this.#users.set(key, true);
    else this.#users.delete(key);
  }
}
