import type { ApiKeyRecord } from '../../domain/api-key.js';
import type { ApiKeyRepository, NewApiKey, StoredApiKey } from '../../ports/metadata-store.js';
import { LruMap } from '../lru-map.js';

/** Active keys remembered at most; a key past it is read again on its next use. */
const REMEMBERED_KEYS = 1_000;

/**
 * Remembers active keys for a database that no other process can write (the embedded PGlite,
 * whose folder this process holds locked): every key change then goes through this object, so a
 * revoked key is forgotten at once and each request is spared a statement. Unknown keys are not
 * remembered, so guessing keys cannot fill the memory.
 */
export class RememberedApiKeys implements ApiKeyRepository {
  readonly #active = new LruMap<string, StoredApiKey>(REMEMBERED_KEYS);

  constructor(private readonly keys: ApiKeyRepository) {}

  create(key: NewApiKey): Promise<ApiKeyRecord> {
    return this.keys.create(key);
  }

  ensure(key: NewApiKey): Promise<void> {
    return this.keys.ensure(key);
  }

  async findActive(id: string): Promise<StoredApiKey | null> {
    const remembered = this.#active.get(id);
    if (remembered !== undefined) return remembered;
    const found = await this.keys.findActive(id);
    if (found !== null) this.#active.set(id, found);
    return found;
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.keys.list();
  }

  async revoke(id: string): Promise<boolean> {
    this.#active.delete(id);
    try {
      return await this.keys.revoke(id);
    } finally {
      // A lookup that ran meanwhile may have remembered it again.
      this.#active.delete(id);
    }
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.keys.touch(id, at);
    const remembered = this.#active.get(id);
    const last = remembered?.record.lastUsedAt;
    if (remembered !== undefined && (last === null || last === undefined || last < at)) {
      this.#active.set(id, { ...remembered, record: { ...remembered.record, lastUsedAt: at } });
    }
  }
}
