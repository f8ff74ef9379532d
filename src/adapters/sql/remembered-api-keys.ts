import type { ApiKeyRecord } from '../../domain/api-key.js';
import type { ApiKeyRepository, NewApiKey, StoredApiKey } from '../../ports/metadata-store.js';
import { LruMap } from '../lru-map.js';
import type { KeyChanges } from './key-changes.js';

/** Active keys remembered at most; a key past it is read again on its next use. */
const REMEMBERED_KEYS = 1_000;
/**
 * On a shared database, how long a key is remembered without being read again: the bound on how
 * long a revocation could go unheard should the listening connection die without a word.
 */
const SHARED_KEY_MAX_AGE_MS = 60_000;

interface Remembered {
  readonly key: StoredApiKey;
  /** When it was read (performance.now()). */
  readonly readAt: number;
}

/**
 * Remembers active keys, so that a request is spared a statement. On a database that no other
 * process can write (the embedded PGlite, whose folder this process holds locked) every key change
 * goes through this object, and a revoked key is forgotten at once. On a shared one, `changes`
 * tells of other processes' changes: keys are remembered only while it listens, forgotten as it
 * tells of them, and read again after SHARED_KEY_MAX_AGE_MS whatever it says. Unknown keys are not
 * remembered, so guessing keys cannot fill the memory.
 */
export class RememberedApiKeys implements ApiKeyRepository {
  readonly #active = new LruMap<string, Remembered>(REMEMBERED_KEYS);

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly changes?: KeyChanges,
  ) {
    changes?.onChange((keyId) => (keyId === null ? this.#active.clear() : this.#active.delete(keyId)));
  }

  create(key: NewApiKey): Promise<ApiKeyRecord> {
    return this.keys.create(key);
  }

  ensure(key: NewApiKey): Promise<void> {
    return this.keys.ensure(key);
  }

  async findActive(id: string): Promise<StoredApiKey | null> {
    const changes = this.changes;
    if (changes !== undefined && !changes.listening()) return this.keys.findActive(id);
    const remembered = this.#active.get(id);
    if (remembered !== undefined && (changes === undefined || performance.now() - remembered.readAt < SHARED_KEY_MAX_AGE_MS)) {
      return remembered.key;
    }
    const epoch = changes?.epoch;
    const readAt = performance.now();
    const found = await this.keys.findActive(id);
    // The epoch moves with every change told, and whenever listening stops or starts: unmoved, no
    // change was told while the read ran, and none can have gone unheard.
    const heardAll = changes === undefined || changes.epoch === epoch;
    if (found !== null && heardAll) this.#active.set(id, { key: found, readAt });
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
    const last = remembered?.key.record.lastUsedAt;
    if (remembered !== undefined && (last === null || last === undefined || last < at)) {
      this.#active.set(id, { ...remembered, key: { ...remembered.key, record: { ...remembered.key.record, lastUsedAt: at } } });
    }
  }
}
