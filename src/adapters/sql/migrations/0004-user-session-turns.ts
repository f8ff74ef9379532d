import type { Migration } from './migration.js';

/**
 * The turns around a search hit (its user, its session, just before or after it) and a user's own
 * memories are both found by one index on (tenant, user, session, time). Walking outwards from a
 * hit then reads a few index entries whatever the user's size; with the old (tenant, user) index a
 * planner without fresh statistics scanned all of a user's memories for each hit, so search slowed
 * as users grew. The old index is a prefix of the new one and goes.
 */
export const userSessionTurns: Migration = {
  version: 4,
  name: 'user-session-turns',
  statements: [
    `CREATE INDEX memories_user_turns ON memories (tenant_id, user_id, session_id, created_at, ordinal) WHERE NOT deleted`,
    `DROP INDEX memories_by_user`,
  ],
};
