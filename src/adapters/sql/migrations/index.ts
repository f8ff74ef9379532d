import { initial } from './0001-initial.js';
import { rowLevelSecurity } from './0002-row-level-security.js';
import { fullTextSearch } from './0003-full-text-search.js';
import { userSessionTurns } from './0004-user-session-turns.js';
import { memoryTerms } from './0005-memory-terms.js';
import { usersAreMany } from './0006-users-are-many.js';
import { userTurnIds } from './0007-user-turn-ids.js';
import { apiKeyChanges } from './0008-api-key-changes.js';
import { vectorSketches } from './0009-vector-sketches.js';
import { finishedTaskAges } from './0010-finished-task-ages.js';
import { pendingWritesByMemory } from './0011-pending-writes-by-memory.js';
import { ordinalsFollowWrites } from './0012-ordinals-follow-writes.js';
import { memoryMovedFrom } from './0013-memory-moved-from.js';
import { writeRequestHashes } from './0014-write-request-hashes.js';
import { memoryTermsByWholeKey } from './0015-memory-terms-by-whole-key.js';
import { apiKeysCleared } from './0016-api-keys-cleared.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/**
 * Every migration, in order. Never edit one that has shipped: add the next number. A new table
 * holding tenant data needs row security and grants to the scoped role, as in 0002.
 */
export const MIGRATIONS: readonly Migration[] = [initial, rowLevelSecurity, fullTextSearch, userSessionTurns, memoryTerms, usersAreMany, userTurnIds, apiKeyChanges, vectorSketches, finishedTaskAges, pendingWritesByMemory, ordinalsFollowWrites, memoryMovedFrom, writeRequestHashes, memoryTermsByWholeKey, apiKeysCleared];
