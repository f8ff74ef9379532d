import type { Migration } from './migration.js';

/**
 * What a write with an Idempotency-Key asked for, as a hash: a retry with the same key must be the
 * same request, and one that is not is refused rather than answered with the first write's task.
 * Null for a write without a key, and for those accepted before this column.
 */
export const writeRequestHashes: Migration = {
  version: 14,
  name: 'write-request-hashes',
  statements: [`ALTER TABLE write_tasks ADD COLUMN request_hash text`],
};
