import type { Migration } from './migration.js';

/** The channel on which the database tells of a changed API key, with the key's id. */
export const API_KEY_CHANGES_CHANNEL = 'engram_api_keys';

/**
 * Every change to a key that decides whether it is accepted (its revocation, its hash, its tenant,
 * its removal) is announced on API_KEY_CHANGES_CHANNEL when it commits, whoever makes it: the CLI
 * of another process, or an UPDATE typed by hand. Serving processes then remember keys and forget
 * one as soon as it changes, rather than read it for every request (see PostgresKeyChanges).
 * Recording a key's last use changes none of these columns and announces nothing.
 */
export const apiKeyChanges: Migration = {
  version: 8,
  name: 'api-key-changes',
  statements: [
    `CREATE FUNCTION engram_announce_api_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM pg_notify('${API_KEY_CHANGES_CHANNEL}', OLD.id);
       RETURN NULL;
     END
     $$`,
    `CREATE TRIGGER api_keys_announce_changes AFTER DELETE OR UPDATE OF id, tenant_id, secret_hash, revoked_at ON api_keys
     FOR EACH ROW EXECUTE FUNCTION engram_announce_api_key_change()`,
  ],
};
