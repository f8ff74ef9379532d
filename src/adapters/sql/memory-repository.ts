import { isWholeUser, type SearchScope } from '../../domain/filters.js';
import type { CandidateMemory, EmbeddedMemory, Memory, Metadata, Role } from '../../domain/memory.js';
import type {
  ApplyOutcome,
  HistoryPage,
  HistoryQuery,
  MemoryOwner,
  MemoryRepository,
  RemovedMemory,
  UserErasure,
} from '../../ports/metadata-store.js';
import type { Neighbourhood, SearchLists, SearchListsQuery, WordMatch, WordQuery } from '../../ports/memory-retrieval.js';
import { float32ToBase64 } from '../../support/float32-bytes.js';
import type { RowScope } from './row-scope.js';
import { idsOfScopeRows, type ListedWords, memoriesOfScopeRows, scopeIdsStatement, sketchesOfScopeRows, wordsOfScopeRows } from './scope-ids.js';
import { base64ToEmbedding, base64ToEmbeddingOrNull, base64ToSketchOrNull, sketchToBase64, toDate, toNumber } from './values.js';
import { KnownWordCounts } from './known-word-counts.js';
import { LargeUsers } from './large-users.js';
import { LOCK_USER_EXCLUSIVE, LOCK_USERS_SHARED } from './user-locks.js';
import { rankTurnsByWords } from './word-ranking.js';
import { countsToKeep, LARGE_USER_FROM, plainWords, wordSearchStatement } from './word-search.js';

interface MemoryRow {
  tenant_id: string;
  id: string;
  user_id: string;
  session_id: string;
  role: Role;
  text: string;
  metadata: Metadata;
  created_at: unknown;
  updated_at: unknown;
  version: unknown;
}

/** A memory's columns after its tenant and its id, as `toMemory` reads them. */
const MEMORY_FIELD_NAMES = ['user_id', 'session_id', 'role', 'text', 'metadata', 'created_at', 'updated_at', 'version'] as const;
const MEMORY_FIELDS = MEMORY_FIELD_NAMES.join(', ');

const MEMORY_COLUMN_NAMES = ['tenant_id', 'id', ...MEMORY_FIELD_NAMES] as const;
const MEMORY_COLUMNS = MEMORY_COLUMN_NAMES.join(', ');

/**
 * A word match's memory, without its id (the match's own): `tenant_id` is null when it is not
 * read. Vectors stay behind: most of a row's bytes, each in pages of its own (TOAST), where the
 * rest of the row is on a page the word search has just read. The page of a large user's matches
 * comes with their sketches, kept in the row, and with the vector only of a memory not sketched
 * yet (see MatchedRows).
 */
const MATCHED_MEMORY_COLUMNS = `tenant_id, ${MEMORY_FIELDS}`;
const MATCHED_MEMORY_SKETCH = `encode(m.sketch, 'base64')`;
const MATCHED_MEMORY_VECTOR = `encode(m.embedding, 'base64')`;

/** The row of a word statement without a match that hands back its counts (see countsToKeep). */
type CountsRow = { id: null; counted_population: unknown; counted_common_words: unknown };

type MatchRow = { id: string; score: unknown; counted_population: unknown; counted_common_words: unknown } & (
  | { tenant_id: null }
  | (Omit<MemoryRow, 'id'> & { sketch: unknown; embedding: unknown })
);

function toWordMatch(row: MatchRow): WordMatch {
  const match = { id: row.id, score: toNumber(row.score) };
  if (row.tenant_id === null || row.tenant_id === undefined) return match;
  const memory = toMemory(row as MemoryRow);
  const sketch = base64ToSketchOrNull('sketch' in row ? row.sketch : null);
  if (sketch !== null) return { ...match, memory, sketch };
  const embedding = base64ToEmbeddingOrNull('embedding' in row ? row.embedding : null);
  return embedding === null ? { ...match, memory } : { ...match, memory, embedding };
}

/**
 * Whether a scope's statements may be prepared: metadata conditions give them shapes without
 * bound, which would crowd out the prepared texts (see SqlStatement.prepare).
 */
function preparable(scope: SearchScope): boolean {
  return (scope.metadata ?? []).length === 0;
}

/** The matches with the memories of the first `count` of them, as a word statement gives them. */
function withMemories(matches: readonly WordMatch[], memoryOf: (id: string) => Memory | undefined, count: number): WordMatch[] {
  return matches.map((match, place) => {
    const memory = place < count ? memoryOf(match.id) : undefined;
    return memory === undefined ? match : { ...match, memory };
  });
}

function toMemory(row: MemoryRow): Memory {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    sessionId: row.session_id,
    role: row.role,
    text: row.text,
    metadata: row.metadata,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    version: toNumber(row.version),
  };
}

/**
 * Most memories written by one transaction. The embedded database runs one transaction at a time,
 * and searches and accepted writes wait for it: 64 keeps that wait near a tenth of a second, while
 * the worker's runs grow to hundreds of memories under a backlog. Chunks go in order, so the
 * outcomes stay those of applying one by one.
 */
const MEMORIES_PER_TRANSACTION = 64;

/**
 * Reads a batch's erasures and rows (locked in id order, so two batches holding the same ids never
 * lock them crosswise) and writes, for each id, the latest version that neither an erasure nor
 * the row's own version refuses. The version guard stays in the write: a row inserted
 * concurrently after the read is still only replaced by a later version. A new row's ordinal,
 * which orders turns of equal times in history, is its version: its place in the order of writing
 * (see 0012). `moved_from` names the user a move took the memory from until it moves again or
 * back (see 0013). Returns what the rows and erasures were, and the ids written.
 */
const APPLY_BATCH = `
  WITH input AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                         $9::text[], $10::text[], $11::text[], $12::text[])
      WITH ORDINALITY AS input(id, user_id, session_id, role, text, embedding, metadata, created_at, updated_at, version, sketch,
                               position)
  ),
  erasures AS MATERIALIZED (
    SELECT user_id, version FROM user_erasures WHERE tenant_id = $1 AND user_id = ANY($3::text[])
  ),
  current AS MATERIALIZED (
    SELECT id, user_id, version, moved_from, deleted FROM memories WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE
  ),
  winners AS (
    SELECT DISTINCT ON (i.id) i.*
    FROM input i
    LEFT JOIN erasures e ON e.user_id = i.user_id
    LEFT JOIN current c ON c.id = i.id
    WHERE (e.version IS NULL OR e.version <= i.version::bigint) AND (c.version IS NULL OR c.version <= i.version::bigint)
    ORDER BY i.id, i.version::bigint DESC, i.position DESC
  ),
  written AS (
    INSERT INTO memories (tenant_id, id, ordinal, user_id, session_id, role, text, embedding, metadata,
                          created_at, updated_at, version, deleted, sketch)
    OVERRIDING SYSTEM VALUE
    SELECT $1, id, version::bigint, user_id, session_id, role, text, decode(embedding, 'base64'), metadata::jsonb,
           created_at::timestamptz, updated_at::timestamptz, version::bigint, false, decode(sketch, 'base64')
    FROM winners
    ORDER BY id
    ON CONFLICT (tenant_id, id) DO UPDATE SET
      user_id = excluded.user_id, session_id = excluded.session_id, role = excluded.role,
      text = excluded.text, embedding = excluded.embedding, metadata = excluded.metadata,
      created_at = excluded.created_at, updated_at = excluded.updated_at,
      version = excluded.version, deleted = false, sketch = excluded.sketch,
      moved_from = CASE WHEN memories.version = excluded.version THEN memories.moved_from
                        WHEN NOT memories.deleted AND memories.user_id <> excluded.user_id THEN memories.user_id
                        WHEN memories.moved_from <> excluded.user_id THEN memories.moved_from END
    WHERE memories.version <= excluded.version
    RETURNING id
  )
  SELECT 'current' AS kind, id, user_id, version, moved_from, deleted FROM current
  UNION ALL SELECT 'erasure', NULL, user_id, version, NULL, NULL FROM erasures
  UNION ALL SELECT 'written', id, NULL, NULL, NULL, NULL FROM written`;

/** What a row keeps as a tombstone: only what decides which write wins (memories_live_has_content). */
const TOMBSTONE = 'deleted = true, text = NULL, embedding = NULL, sketch = NULL, metadata = NULL';

/**
 * See SqlMemoryRepository.remove. A row made live by a write committed after this statement began
 * is met by the insert's conflict and made a tombstone too; the delete came after that write.
 */
const REMOVE_MEMORY = `
  WITH live AS (
    UPDATE memories
    SET ${TOMBSTONE}, version = nextval('write_seq'), updated_at = now()
    WHERE tenant_id = $1 AND id = $2 AND NOT deleted
    RETURNING id, user_id, moved_from
  ),
  in_flight AS (
    SELECT user_id FROM write_tasks
    WHERE tenant_id = $1 AND memory_id = $2 AND status IN ('queued', 'processing')
      AND seq > coalesce((SELECT version FROM memories WHERE tenant_id = $1 AND id = $2), 0)
      AND NOT EXISTS (SELECT 1 FROM live)
    ORDER BY seq DESC
    LIMIT 1
  ),
  numbered AS (SELECT user_id, nextval('write_seq') AS version FROM in_flight),
  ahead AS (
    INSERT INTO memories (tenant_id, id, ordinal, user_id, session_id, role, created_at, updated_at, version, deleted)
    OVERRIDING SYSTEM VALUE
    SELECT $1, $2, version, user_id, '', '', now(), now(), version, true FROM numbered
    ON CONFLICT (tenant_id, id) DO UPDATE SET
      ${TOMBSTONE}, version = excluded.version, updated_at = excluded.updated_at
    RETURNING id, user_id, moved_from
  )
  SELECT id, user_id, moved_from FROM live UNION ALL SELECT id, user_id, moved_from FROM ahead`;

/**
 * Erases a user as of a new number in the write order: what the user held then, in the order
 * writes were accepted, goes, and every write of theirs accepted before it is refused (as
 * `user_erasures` tells applies). Writes accepted but not yet stored decide what the user held:
 * - a memory of theirs whose last such write gives it to another user is made a tombstone of its
 *   own version, so that write still lands (it came before the erasure);
 * - a memory of another user (or none yet) whose last such write is theirs is theirs: it becomes a
 *   tombstone of the erasure's number, and its rows with other users come back for their vectors;
 * - any other memory of theirs becomes a tombstone of the erasure's number.
 * Rows are locked in id order first, as applies lock theirs, so the two never deadlock. Answers
 * one row per memory of another user it cleared, and one (id null) with how many were live.
 */
const ERASE_USER = `
  WITH erasure AS (
    INSERT INTO user_erasures (tenant_id, user_id, version, erased_at)
    VALUES ($1, $2, nextval('write_seq'), now())
    ON CONFLICT (tenant_id, user_id) DO UPDATE SET version = excluded.version, erased_at = excluded.erased_at
    RETURNING version
  ),
  pending AS MATERIALIZED (
    SELECT DISTINCT ON (memory_id) memory_id, user_id, seq
    FROM write_tasks
    WHERE tenant_id = $1 AND status IN ('queued', 'processing')
      AND memory_id IN (SELECT id FROM memories WHERE tenant_id = $1 AND user_id = $2 AND NOT deleted
                        UNION ALL
                        SELECT memory_id FROM write_tasks WHERE tenant_id = $1 AND user_id = $2 AND status IN ('queued', 'processing'))
    ORDER BY memory_id, seq DESC
  ),
  locked AS MATERIALIZED (
    SELECT id, user_id, deleted FROM memories
    WHERE tenant_id = $1
      AND ((user_id = $2 AND NOT deleted) OR id IN (SELECT memory_id FROM pending WHERE user_id = $2))
    ORDER BY id
    FOR UPDATE
  ),
  own AS (
    UPDATE memories
    SET ${TOMBSTONE}, updated_at = now(),
        version = CASE WHEN p.user_id <> $2 AND p.seq > memories.version THEN memories.version
                       ELSE (SELECT version FROM erasure) END
    FROM locked l LEFT JOIN pending p ON p.memory_id = l.id
    WHERE memories.tenant_id = $1 AND memories.id = l.id AND l.user_id = $2 AND NOT l.deleted
  ),
  taken AS (
    INSERT INTO memories (tenant_id, id, ordinal, user_id, session_id, role, created_at, updated_at, version, deleted)
    OVERRIDING SYSTEM VALUE
    SELECT $1, p.memory_id, e.version, $2, '', '', now(), now(), e.version, true
    FROM pending p CROSS JOIN erasure e
    WHERE p.user_id = $2 AND NOT EXISTS (SELECT 1 FROM locked l WHERE l.id = p.memory_id AND l.user_id = $2 AND NOT l.deleted)
      -- With no row and no other user's write to come, the erasure's number alone refuses theirs.
      AND (EXISTS (SELECT 1 FROM locked l WHERE l.id = p.memory_id)
           OR EXISTS (SELECT 1 FROM write_tasks t
                      WHERE t.tenant_id = $1 AND t.memory_id = p.memory_id AND t.user_id <> $2 AND t.status IN ('queued', 'processing')))
    ORDER BY p.memory_id
    ON CONFLICT (tenant_id, id) DO UPDATE SET ${TOMBSTONE}, version = excluded.version, updated_at = excluded.updated_at
      WHERE memories.version < excluded.version
    RETURNING id, user_id
  )
  SELECT id, user_id, NULL AS live FROM taken WHERE user_id <> $2
  UNION ALL SELECT NULL, NULL, (SELECT count(*) FROM locked WHERE NOT deleted)`;

/** A row of APPLY_BATCH's answer: a row as it was, an erasure of one of the users, or an id written. */
type AppliedBatchRow =
  | { kind: 'current'; id: string; user_id: string; version: unknown; moved_from: string | null; deleted: boolean }
  | { kind: 'erasure'; id: null; user_id: string; version: unknown; moved_from: null; deleted: null }
  | { kind: 'written'; id: string; user_id: null; version: null; moved_from: null; deleted: null };

export interface SqlMemoryRepositoryOptions {
  /**
   * A search of a whole user of at most this many memories ranks their words here, from each
   * memory's words read with the user's listing (see rankTurnsByWords), rather than by a word
   * statement; the memories the ranking can place (holding a word, or next to one) come with them,
   * so that the best matches come with theirs as the statement's do. A user is taken to be that
   * small until a listing finds them larger. 0 for never; at most 1,249. Default 250, as many as
   * are ranked by their sketches.
   */
  readonly wordsRankedHereUpTo?: number;
}

/** See SqlMemoryRepositoryOptions and docs/performance.md. */
const WORDS_RANKED_HERE_UP_TO = 250;

export class SqlMemoryRepository implements MemoryRepository {
  private readonly wordsRankedHereUpTo: number;
  private readonly largeUsers = new LargeUsers();

  constructor(
    private readonly scope: RowScope,
    /** A large user's counts that their word searches may skip for a while. */
    private readonly knownCounts: KnownWordCounts = new KnownWordCounts(),
    options: SqlMemoryRepositoryOptions = {},
  ) {
    // From LARGE_USER_FROM the statement bounds its work tighter, which the ranking here does not do.
    this.wordsRankedHereUpTo = Math.min(Math.max(0, Math.floor(options.wordsRankedHereUpTo ?? WORDS_RANKED_HERE_UP_TO)), LARGE_USER_FROM - 1);
  }

  async apply(memory: EmbeddedMemory): Promise<ApplyOutcome> {
    const [outcome] = await this.applyMany([memory]);
    if (outcome === undefined) throw new Error('applyMany gave no outcome');
    return outcome;
  }

  async applyMany(memories: readonly EmbeddedMemory[]): Promise<ApplyOutcome[]> {
    const outcomes = new Array<ApplyOutcome>(memories.length);
    const byTenant = new Map<string, number[]>();
    memories.forEach((memory, index) => {
      const positions = byTenant.get(memory.tenantId);
      if (positions === undefined) byTenant.set(memory.tenantId, [index]);
      else positions.push(index);
    });
    for (const [tenantId, positions] of byTenant) {
      for (let start = 0; start < positions.length; start += MEMORIES_PER_TRANSACTION) {
        const batch = positions
          .slice(start, start + MEMORIES_PER_TRANSACTION)
          .map((index) => ({ index, memory: memories[index] as EmbeddedMemory }));
        for (const [index, outcome] of await this.applyTenantBatch(tenantId, batch)) outcomes[index] = outcome;
      }
    }
    return outcomes;
  }

  /**
   * Applies memories of one tenant as one transaction handed over whole: the embedded database is
   * held only while it computes, never while this thread decides. Two statements: the users'
   * locks, then one that reads their erasures and locks and reads the rows (in its own snapshot,
   * taken once the locks are held), and writes the winners. A memory is not applied when its user
   * was erased after it was accepted, or when its row holds a later version. Of several versions
   * of one id in the batch only the last applied is written, as it would have overwritten the
   * others within the same transaction. The outcomes are then decided from what the rows and
   * erasures were, in the order one-by-one application would meet them.
   */
  private async applyTenantBatch(
    tenantId: string,
    batch: readonly { readonly index: number; readonly memory: EmbeddedMemory }[],
  ): Promise<Map<number, ApplyOutcome>> {
    // Every user lock first, in one order: the transaction never waits for a lock while it holds
    // a row that an erasure, holding its user's lock, needs.
    const users = [...new Set(batch.map(({ memory }) => memory.userId))].sort();
    const memories = batch.map(({ memory }) => memory);
    // Unflushed: the worker's step, redone from its task if a crash loses it (see CommitMode).
    const rows = await this.scope.tenantTransactionOf<AppliedBatchRow>(tenantId, [
      { text: LOCK_USERS_SHARED, params: [tenantId, users], prepare: true },
      {
        text: APPLY_BATCH,
        params: [
          tenantId,
          memories.map((memory) => memory.id),
          memories.map((memory) => memory.userId),
          memories.map((memory) => memory.sessionId),
          memories.map((memory) => memory.role),
          memories.map((memory) => memory.text),
          memories.map((memory) => float32ToBase64(memory.embedding)),
          memories.map((memory) => JSON.stringify(memory.metadata)),
          memories.map((memory) => memory.createdAt.toISOString()),
          memories.map((memory) => memory.updatedAt.toISOString()),
          memories.map((memory) => String(memory.version)),
          memories.map((memory) => sketchToBase64(memory.embedding)),
        ],
        prepare: true,
      },
    ], 'unflushed');
    const erasedBefore = new Map<string, number>();
    const current = new Map<string, RowBefore>();
    const landed = new Set<string>();
    for (const row of rows) {
      if (row.kind === 'erasure') erasedBefore.set(row.user_id, toNumber(row.version));
      else if (row.kind === 'current') {
        current.set(row.id, { userId: row.user_id, version: toNumber(row.version), movedFrom: row.moved_from, deleted: row.deleted });
      } else landed.add(row.id);
    }

    // Versions of one id keep their order, and ids do not depend on each other.
    const inLockOrder = [...batch].sort((left, right) =>
      left.memory.id < right.memory.id ? -1 : left.memory.id > right.memory.id ? 1 : left.index - right.index,
    );
    const outcomes = new Map<number, ApplyOutcome>();
    for (const { index, memory } of inLockOrder) {
      const erasure = erasedBefore.get(memory.userId);
      const before = current.get(memory.id);
      if (erasure !== undefined && erasure > memory.version) {
        outcomes.set(index, { applied: false, reason: 'erased' });
      } else if ((before !== undefined && before.version > memory.version) || !landed.has(memory.id)) {
        // A row inserted concurrently after the read, with a later version, kept it out too.
        outcomes.set(index, { applied: false, reason: 'superseded' });
      } else {
        // The same version again (a retry): the row already names this write's user.
        const replayed = before !== undefined && before.version === memory.version;
        const formerUserIds = [...new Set(replayed ? [before.movedFrom] : [before?.userId, before?.movedFrom])].filter(
          (userId): userId is string => userId !== undefined && userId !== null && userId !== memory.userId,
        );
        outcomes.set(index, { applied: true, formerUserIds });
        current.set(memory.id, { userId: memory.userId, version: memory.version, movedFrom: movedFromAfter(before, memory, replayed), deleted: false });
      }
    }
    return outcomes;
  }

  async get(tenantId: string, id: string): Promise<Memory | null> {
    const rows = await this.scope.tenantQuery<MemoryRow>(
      tenantId,
      `SELECT ${MEMORY_COLUMNS} FROM memories WHERE tenant_id = $1 AND id = $2 AND NOT deleted`,
      [tenantId, id],
      { prepare: true },
    );
    const row = rows[0];
    return row === undefined ? null : toMemory(row);
  }

  async getMany(tenantId: string, ids: readonly string[]): Promise<Memory[]> {
    if (ids.length === 0) return [];
    const rows = await this.scope.tenantQuery<MemoryRow>(
      tenantId,
      `SELECT ${MEMORY_COLUMNS} FROM memories WHERE tenant_id = $1 AND id = ANY($2::text[]) AND NOT deleted`,
      [tenantId, [...ids]],
      { prepare: true },
    );
    return rows.map(toMemory);
  }

  async getEmbedded(tenantId: string, id: string): Promise<EmbeddedMemory | null> {
    const rows = await this.scope.tenantQuery<MemoryRow & { embedding: unknown }>(
      tenantId,
      `SELECT ${MEMORY_COLUMNS}, encode(embedding, 'base64') AS embedding FROM memories WHERE tenant_id = $1 AND id = $2 AND NOT deleted`,
      [tenantId, id],
      { prepare: true },
    );
    const row = rows[0];
    return row === undefined ? null : { ...toMemory(row), embedding: base64ToEmbedding(row.embedding) };
  }

  async findHistory(query: HistoryQuery): Promise<HistoryPage> {
    const params: unknown[] = [query.tenantId, query.sessionId];
    const conditions = ['tenant_id = $1', 'session_id = $2', 'NOT deleted'];
    if (query.userId !== undefined) {
      params.push(query.userId);
      conditions.push(`user_id = $${params.length}`);
    }
    if (query.after !== undefined) {
      params.push(query.after.createdAt, query.after.ordinal);
      conditions.push(`(created_at, ordinal) > ($${params.length - 1}::timestamptz, $${params.length}::bigint)`);
    }
    // One row more than asked tells whether there is a next page without counting.
    params.push(query.limit + 1);
    const rows = await this.scope.tenantQuery<MemoryRow & { ordinal: unknown }>(
      query.tenantId,
      `SELECT ${MEMORY_COLUMNS}, ordinal FROM memories
         WHERE ${conditions.join(' AND ')}
         ORDER BY created_at, ordinal
         LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const next =
      rows.length > query.limit && last !== undefined
        ? { createdAt: toDate(last.created_at), ordinal: toNumber(last.ordinal) }
        : null;
    return { items: page.map(toMemory), next };
  }

  /**
   * One statement: the live row becomes a tombstone; with none, a write of the id accepted after
   * its last removal and still in flight gets one ahead of it, under that write's user, so that the
   * write, older than the tombstone, never lands (see 0011). Null when there is neither.
   */
  async remove(tenantId: string, id: string): Promise<RemovedMemory | null> {
    const rows = await this.scope.tenantQuery<{ id: string; user_id: string; moved_from: string | null }>(tenantId, REMOVE_MEMORY, [
      tenantId,
      id,
    ]);
    const row = rows[0];
    if (row === undefined) return null;
    const formerUserIds = row.moved_from === null || row.moved_from === row.user_id ? [] : [row.moved_from];
    return { id: row.id, userId: row.user_id, formerUserIds };
  }

  /**
   * One round trip: the user's lock, then the erasure's number and the memories it clears, in one
   * statement (ERASE_USER); with no time limit, since a user of many memories takes long to clear,
   * and an erasure cut short would fail again each time it is asked for.
   */
  async eraseUser(tenantId: string, userId: string): Promise<UserErasure> {
    const rows = await this.scope.tenantTransactionUnhurried<{ id: string | null; user_id: string | null; live: unknown }>(tenantId, [
      { text: LOCK_USER_EXCLUSIVE, params: [tenantId, userId] },
      { text: ERASE_USER, params: [tenantId, userId] },
    ]);
    // Their next memories start a count of their own (another process's counts lapse in a minute).
    this.knownCounts.forget(tenantId, userId);
    let erased = 0;
    const othersHeld: RemovedMemory[] = [];
    for (const row of rows) {
      if (row.id === null) erased = toNumber(row.live);
      else if (row.user_id !== null) othersHeld.push({ id: row.id, userId: row.user_id, formerUserIds: [] });
    }
    return { erased, othersHeld };
  }

  findByWords({ scope, ...words }: WordQuery): Promise<WordMatch[]> {
    return this.searchLists({ scope, idsLimit: null, words }).matches;
  }

  /**
   * Both lists are prepared unless the scope filters on metadata; the word search's planning costs
   * more than running it. A whole user not known to be large (see SqlMemoryRepositoryOptions) gets
   * no word statement: their listing brings each memory with the query's words in it, and their
   * matches are ranked here; if the listing finds them large, the statement follows it.
   */
  searchLists({ scope, idsLimit, memoriesUpTo, sketchesUpTo, words }: SearchListsQuery): SearchLists {
    const { tenantId, userId } = scope;
    const listedWords = idsLimit === null || words === null ? undefined : this.wordsToList(scope, words.words);
    const rankedHere = listedWords !== undefined && !this.largeUsers.has(tenantId, userId);
    const listing =
      idsLimit === null
        ? null
        : scopeIdsStatement(scope, idsLimit, {
            ...(memoriesUpTo === undefined ? {} : { memories: { upTo: memoriesUpTo, columns: MEMORY_COLUMNS } }),
            ...(sketchesUpTo === undefined ? {} : { sketchesUpTo }),
            // The memories the ranking can place come with the words, as the statement brings its best matches'.
            ...(rankedHere ? { words: { ...listedWords, columns: MEMORY_COLUMN_NAMES } } : {}),
          });
    const matchedRows = {
      count: words?.withMemories ?? 0,
      sketches: words?.withSketches ?? 0,
      columns: MATCHED_MEMORY_COLUMNS,
      sketch: MATCHED_MEMORY_SKETCH,
      vector: MATCHED_MEMORY_VECTOR,
    };
    const wordSearch = () => (words === null ? null : wordSearchStatement({ scope, ...words }, {}, matchedRows, this.knownCounts.of(tenantId, userId)));
    const besideListing = rankedHere ? null : wordSearch();
    const statements = [listing, besideListing].flatMap((statement) => (statement === null ? [] : [{ ...statement, prepare: preparable(scope) }]));
    const answers = this.scope.tenantReadEach(scope.tenantId, statements);
    const listingAnswer =
      listing === null ? null : (answers[0] as Promise<Array<{ ids: string | null; memories?: string | null; sketches?: string | null; words?: string | null }>>);
    const ids = listingAnswer === null ? null : listingAnswer.then(idsOfScopeRows);
    const memories = listingAnswer === null || memoriesUpTo === undefined ? null : listingAnswer.then((rows) => memoriesOfScopeRows<MemoryRow>(rows)?.map(toMemory) ?? null);
    const sketches = listingAnswer === null || sketchesUpTo === undefined ? null : listingAnswer.then(sketchesOfScopeRows);
    if (ids !== null && idsLimit !== null && listedWords !== undefined) {
      // The listing tells the user's size: their next search is planned by it.
      void ids.then((listed) => this.largeUsers.note(tenantId, userId, listed.length >= idsLimit || listed.length > this.wordsRankedHereUpTo), () => undefined);
    }
    const wordAnswer = besideListing === null ? undefined : answers[listing === null ? 0 : 1];
    let matches: Promise<WordMatch[]> = Promise.resolve([]);
    if (wordAnswer !== undefined) {
      matches = this.wordMatchesOf(scope, wordAnswer);
    } else if (rankedHere && listingAnswer !== null && words !== null) {
      matches = Promise.all([listingAnswer, memories]).then(([rows, whole]) => {
        const listed = wordsOfScopeRows<MemoryRow>(rows);
        if (listed !== null) {
          // The scope's memories when it came whole, else those of the turns the ranking can place,
          // made memories only for the matches that take them.
          const wholeById = new Map((whole ?? []).map((memory) => [memory.id, memory]));
          const nearById = new Map(listed.memories.map((row) => [row.id, row]));
          const memoryOf = (id: string): Memory | undefined => {
            const near = nearById.get(id);
            return wholeById.get(id) ?? (near === undefined ? undefined : toMemory(near));
          };
          return withMemories(rankTurnsByWords(listed.words, words.limit), memoryOf, words.withMemories ?? 0);
        }
        const late = wordSearch();
        return late === null ? [] : this.wordMatchesOf(scope, this.scope.tenantReadEach(tenantId, [{ ...late, prepare: preparable(scope) }])[0]);
      });
    }
    return { ids, memories, sketches, matches };
  }

  /** The matches in a word statement's answer, whose counts worth keeping are kept for the user's next search. */
  private async wordMatchesOf({ tenantId, userId }: SearchScope, answer: Promise<unknown[]> | undefined): Promise<WordMatch[]> {
    const rows = ((await answer) ?? []) as Array<MatchRow | CountsRow>;
    if (rows[0] !== undefined) this.knownCounts.learn(tenantId, userId, countsToKeep(rows[0]));
    // A statement without a match may answer one row of counts alone, with a null id.
    return rows.filter((row): row is MatchRow => row.id !== null).map(toWordMatch);
  }

  /**
   * The words a listing of the scope looks for in each memory: only when the scope is a whole
   * user (their counts are the scope's then) and the query has a word to look for.
   */
  private wordsToList(scope: SearchScope, words: readonly string[]): ListedWords | undefined {
    const text = plainWords(words);
    return !isWholeUser(scope) || text === '' || this.wordsRankedHereUpTo === 0 ? undefined : { upTo: this.wordsRankedHereUpTo, text };
  }

  async idsInScope(scope: SearchScope, limit: number): Promise<string[]> {
    return (await this.searchLists({ scope, idsLimit: limit, words: null }).ids) ?? [];
  }

  async getCandidates(tenantId: string, ids: readonly string[], withVectors: readonly string[]): Promise<CandidateMemory[]> {
    if (ids.length === 0) return [];
    const rows = await this.scope.tenantQuery<MemoryRow & { embedding: unknown }>(
      tenantId,
      `SELECT ${MEMORY_COLUMNS}, CASE WHEN id = ANY($3::text[]) THEN encode(embedding, 'base64') END AS embedding
         FROM memories WHERE tenant_id = $1 AND id = ANY($2::text[]) AND NOT deleted`,
      [tenantId, [...ids], [...withVectors]],
      { prepare: true },
    );
    return rows.map((row) => ({
      ...toMemory(row),
      embedding: base64ToEmbeddingOrNull(row.embedding),
    }));
  }

  async findNeighbours(tenantId: string, ids: readonly string[], span: number): Promise<Neighbourhood[]> {
    if (ids.length === 0 || span < 1) return [];
    // Each side walks the history index from the anchor outwards and stops after `span` rows.
    const rows = await this.scope.tenantQuery<MemoryRow & { anchor_id: string; side: unknown }>(
      tenantId,
      `WITH anchors AS (
           SELECT id, user_id, session_id, created_at, ordinal FROM memories
           WHERE tenant_id = $1 AND id = ANY($2::text[]) AND NOT deleted
         )
         SELECT a.id AS anchor_id, n.*
         FROM anchors a
         CROSS JOIN LATERAL (
           (SELECT -1 AS side, ${MEMORY_COLUMNS}, ordinal FROM memories
            WHERE tenant_id = $1 AND session_id = a.session_id AND user_id = a.user_id AND NOT deleted
              AND (created_at, ordinal) < (a.created_at, a.ordinal)
            ORDER BY created_at DESC, ordinal DESC LIMIT $3)
           UNION ALL
           (SELECT 1 AS side, ${MEMORY_COLUMNS}, ordinal FROM memories
            WHERE tenant_id = $1 AND session_id = a.session_id AND user_id = a.user_id AND NOT deleted
              AND (created_at, ordinal) > (a.created_at, a.ordinal)
            ORDER BY created_at, ordinal LIMIT $3)
         ) n
         ORDER BY a.id, n.created_at, n.ordinal`,
      [tenantId, [...ids], Math.floor(span)],
      { prepare: true },
    );
    const byAnchor = new Map<string, { before: Memory[]; after: Memory[] }>(ids.map((id) => [id, { before: [], after: [] }]));
    for (const row of rows) {
      const turns = byAnchor.get(row.anchor_id);
      if (turns === undefined) continue;
      (toNumber(row.side) < 0 ? turns.before : turns.after).push(toMemory(row));
    }
    return [...byAnchor].map(([anchorId, turns]) => ({ anchorId, ...turns }));
  }

  async listIds(tenantId: string, userId: string): Promise<string[]> {
    const rows = await this.scope.tenantQuery<{ id: string }>(
      tenantId,
      'SELECT id FROM memories WHERE tenant_id = $1 AND user_id = $2 AND NOT deleted ORDER BY id',
      [tenantId, userId],
    );
    return rows.map((row) => row.id);
  }

  async fillSketches(limit: number): Promise<number> {
    // In the order of the index that lists them, which the planner then walks rather than the table.
    const rows = await this.scope.systemQuery<{ tenant_id: string; id: string; version: unknown; embedding: unknown }>(
      `SELECT tenant_id, id, version, encode(embedding, 'base64') AS embedding FROM memories
         WHERE sketch IS NULL AND NOT deleted ORDER BY tenant_id, id LIMIT $1`,
      [Math.max(0, Math.floor(limit))],
    );
    if (rows.length === 0) return 0;
    // A row written meanwhile has another version, and its own sketch or none: it waits for the next pass.
    const sketched = await this.scope.systemQuery<{ id: string }>(
      `UPDATE memories m SET sketch = decode(s.sketch, 'base64')
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS s(tenant_id, id, version, sketch)
         WHERE m.tenant_id = s.tenant_id AND m.id = s.id AND m.version = s.version AND m.sketch IS NULL AND NOT m.deleted
         RETURNING m.id`,
      [
        rows.map((row) => row.tenant_id),
        rows.map((row) => row.id),
        rows.map((row) => String(row.version)),
        rows.map((row) => sketchToBase64(base64ToEmbedding(row.embedding))),
      ],
    );
    return sketched.length;
  }

  async listOwners(): Promise<MemoryOwner[]> {
    const rows = await this.scope.systemQuery<{ tenant_id: string; user_id: string }>(
      // A user a memory was moved from may hold no row any more, and still its vector.
      `SELECT tenant_id, user_id FROM memories
       UNION SELECT tenant_id, moved_from FROM memories WHERE moved_from IS NOT NULL
       ORDER BY tenant_id, user_id`,
    );
    return rows.map((row) => ({ tenantId: row.tenant_id, userId: row.user_id }));
  }
}

/** What a batch's statement read of a memory's row, as later versions of the batch see it. */
interface RowBefore {
  readonly userId: string;
  readonly version: number;
  readonly movedFrom: string | null;
  readonly deleted: boolean;
}

/**
 * The row's `moved_from` once this version is written, as APPLY_BATCH sets it: the user a move
 * took the memory from, kept through later writes until it moves again or back to them, so a move
 * whose removal of the old vector failed and was then overtaken still has it removed.
 */
function movedFromAfter(before: RowBefore | undefined, memory: EmbeddedMemory, replayed: boolean): string | null {
  if (before === undefined) return null;
  if (replayed) return before.movedFrom;
  if (!before.deleted && before.userId !== memory.userId) return before.userId;
  return before.movedFrom !== memory.userId ? before.movedFrom : null;
}
