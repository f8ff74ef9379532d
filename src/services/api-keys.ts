import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, Principal } from '../domain/api-key.js';
import { DEFAULT_TENANT } from '../domain/api-key.js';
import { UnauthenticatedError, ValidationError } from '../domain/errors.js';
import { isIdentifier } from '../domain/ids.js';
import type { ApiKeyRepository } from '../ports/metadata-store.js';

const KEY_PREFIX = 'egm_';
const MAX_KEY_LENGTH = 256;
/**
 * A key's name: up to 128 characters with no control character, so that `keys list`, a line of
 * tab-separated fields per key, shows one row per key whatever it is named.
 */
const KEY_NAME = /^[^\p{Cc}]{1,128}$/u;
/** Don't write `last_used_at` on every request: once a minute per key is enough to be useful. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Keys shorter than this are guessable: a key is stored as unsalted hashes (its id among them), so
 * anyone with a copy of the database can try candidates at the speed of SHA-256. Created keys have
 * 47 characters; a bootstrap key is the operator's choice.
 */
export const GUESSABLE_BELOW_CHARS = 20;

/** Whether a key is short enough for a copy of the database to give it away (see GUESSABLE_BELOW_CHARS). */
export function isGuessableKey(rawKey: string): boolean {
  return rawKey.length < GUESSABLE_BELOW_CHARS;
}

export interface CreatedApiKey {
  readonly record: ApiKeyRecord;
  /** The key itself: shown once, stored only as a hash. */
  readonly key: string;
}

function secretHash(rawKey: string): Buffer {
  return createHash('sha256').update(rawKey, 'utf8').digest();
}

/** Keys are looked up by an id derived from the key, then compared by hash in constant time. */
function keyIdOf(rawKey: string): string {
  return createHash('sha256').update(`engram-key-id\u0000${rawKey}`, 'utf8').digest('hex').slice(0, 20);
}

export class ApiKeyService {
  private readonly lastTouched = new Map<string, number>();

  constructor(private readonly keys: ApiKeyRepository) {}

  async create(tenantId: string, name: string | null): Promise<CreatedApiKey> {
    if (!isIdentifier(tenantId)) throw new ValidationError('tenant must be 1-128 letters, digits or ._:@+=-');
    if (name !== null && !KEY_NAME.test(name)) throw new ValidationError('name must be 1-128 characters, without tabs, line breaks or other control characters');
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record = await this.keys.create({ id: keyIdOf(key), tenantId, name, secretHash: secretHash(key) });
    return { record, key };
  }

  /** Makes sure the bootstrap key (ENGRAM_API_KEY) exists for the default tenant. */
  async ensureBootstrapKey(rawKey: string): Promise<void> {
    await this.keys.ensure({ id: keyIdOf(rawKey), tenantId: DEFAULT_TENANT, name: 'bootstrap', secretHash: secretHash(rawKey) });
  }

  async authenticate(rawKey: string | undefined): Promise<Principal> {
    if (rawKey === undefined || rawKey === '' || rawKey.length > MAX_KEY_LENGTH) throw new UnauthenticatedError();
    const stored = await this.keys.findActive(keyIdOf(rawKey));
    const presented = secretHash(rawKey);
    if (stored === null || !timingSafeEqual(stored.secretHash, presented)) throw new UnauthenticatedError();
    this.touch(stored.record.id);
    return { tenantId: stored.record.tenantId, keyId: stored.record.id };
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.keys.list();
  }

  revoke(id: string): Promise<boolean> {
    return this.keys.revoke(id);
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(id, now);
    // Usage tracking must never fail or slow a request.
    this.keys.touch(id, new Date(now)).catch(() => undefined);
  }
}
