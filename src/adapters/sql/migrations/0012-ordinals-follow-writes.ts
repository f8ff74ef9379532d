import type { Migration } from './migration.js';

/**
 * A memory's ordinal orders turns of equal times in history. It was the identity column's next
 * number at the first insert, so turns accepted in one order but stored by runs of the worker in
 * another (a conversation sent as one batch, split into jobs) came back in the second. New rows
 * now take their write's number in the global write order instead (see APPLY_BATCH). The write
 * order moves past every ordinal given so far, so that a new one never equals an old one.
 */
export const ordinalsFollowWrites: Migration = {
  version: 12,
  name: 'ordinals-follow-writes',
  statements: [
    `SELECT set_config('engram.scope', 'system', true)`,
    `SELECT setval('write_seq', greatest((SELECT last_value FROM write_seq), (SELECT coalesce(max(ordinal), 0) FROM memories)))`,
    `SELECT set_config('engram.scope', '', true)`,
  ],
};
