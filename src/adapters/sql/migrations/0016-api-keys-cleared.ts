import { API_KEY_CHANGES_CHANNEL } from './0008-api-key-changes.js';
import type { Migration } from './migration.js';

/**
 * A TRUNCATE of `api_keys` (a restore, a clean-up by hand) fires no row trigger: serving processes
 * kept accepting the keys they remembered until they read them again. It is announced too, with an
 * empty payload, which tells a listener that every key may have changed.
 */
export const apiKeysCleared: Migration = {
  version: 16,
  name: 'api-keys-cleared',
  statements: [
    `CREATE FUNCTION engram_announce_api_keys_cleared() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM pg_notify('${API_KEY_CHANGES_CHANNEL}', '');
       RETURN NULL;
     END
     $$`,
    `CREATE TRIGGER api_keys_announce_truncate AFTER TRUNCATE ON api_keys
     FOR EACH STATEMENT EXECUTE FUNCTION engram_announce_api_keys_cleared()`,
  ],
};
