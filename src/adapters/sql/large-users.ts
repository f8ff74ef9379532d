import { LruMap } from '../lru-map.js';
import { userKey } from './user-key.js';

/** Users remembered at most; the least recently searched go first. */
const MAX_USERS = 10_000;

/**
 * The users whose latest search found them too large to rank their words from their listing (see
 * rankTurnsByWords), in this process: their next search asks the word statement beside the
 * listing rather than after it. Any other user is taken to be small. Only a hint for what to ask:
 * each listing tells again whether the user is small, and one who has grown gets the statement
 * after it. Users are of one tenant: the key holds both.
 */
export class LargeUsers {
  readonly #users: LruMap<string, true>;

  constructor(maxUsers: number = MAX_USERS) {
    this.#users = new LruMap(maxUsers);
  }

  has(tenantId: string, userId: string): boolean {
    return this.#users.get(userKey(tenantId, userId)) === true;
  }

  /** Records what the user's latest listing told of their size. */
  note(tenantId: string, userId: string, large: boolean): void {
    const key = userKey(tenantId, userId);
    if (large) this.#users.set(key, true);
    else this.#users.delete(key);
  }
}
