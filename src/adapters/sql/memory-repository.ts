import type { SearchScope } from '../../domain/filters.js';
import type { CandidateMemory, EmbeddedMemory, Memory, Metadata, Role } from '../../domain/memory.js';
import type {
  ApplyOutcome,
  HistoryPage,
  HistoryQuery,
  MemoryOwner,
  MemoryRepository,
  RemovedMemory,
} from '../../ports/metadata-store.js';
import type { Neighbourhood, WordMatch, WordQuery } from '../../ports/memory-retrieval.js';
import type { RowScope } from './row-scope.js';
import { scopeIdsStatement } from './scope-ids.js';
import type { SqlExecutor } from './sql-client.js';
import { base64ToEmbedding, embeddingToBase64, toDate, toNumber } from './values.js';
import { wordSearchStatement } from './word-search.js';

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

const MEMORY_COLUMNS = 'tenant_id, id, user_id, session_id, role, text, metadata, created_at, updated_at, version';

/**
 * Whether a scope's statements may be prepared: metadata conditions give them shapes without
 * bound, which would crowd out the prepared texts (see SqlStatement.prepare).
 */
function preparable(scope: SearchScope): boolean {
  return (scope.metadata ?? []).length === 0;
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
 * Apply and erase of one user exclude each other: without it, an erasure could miss a row that an
 * apply accepted before it inserts concurrently. Applies take the same lock shared (`applyMany`).
 */
const LOCK_USER_EXCLUSIVE = 'SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))';
/**
 * Most memories written by one transaction. The embedded database runs one transaction at a time,
 * and searches and accepted writes wait for it: 64 keeps that wait near a tenth of a second, while
 * the worker's runs grow to hundreds of memories under a backlog. Chunks go in order, so the
 * outcomes stay those of applying one by one.
 */
const MEMORIES_PER_TRANSACTION = 64;

export class SqlMemoryRepository implements MemoryRepository {
  constructor(private readonly scope: RowScope) {}

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
        await this.scope.tenant(tenantId, async (tx) => {
          for (const [index, outcome] of await this.applyTenantBatch(tx, tenantId, batch)) outcomes[index] = outcome;
        });
      }
    }
    return outcomes;
  }

  /**
   * Applies memories of one tenant in four statements: lock the users, read their erasures, lock
   * and read the rows, write the winners. A memory is not applied when its user was erased after it
   * was accepted, or when its row holds a later version. Outcomes are decided in the order
   * one-by-one application would meet them; of
   * several versions of one id in the batch only the last applied is written, as it would have
   * overwritten the others within the same transaction.
   */
  private async applyTenantBatch(
    tx: SqlExecutor,
    tenantId: string,
    batch: readonly { readonly index: number; readonly memory: EmbeddedMemory }[],
  ): Promise<Map<number, ApplyOutcome>> {
    // Every user lock first, in one order: the transaction never waits for a lock while it holds
    // a row that an erasure, holding its user's lock, needs.
    const users = [...new Set(batch.map(({ memory }) => memory.userId))].sort();
    await tx.query(
      `SELECT count(pg_advisory_xact_lock_shared(hashtext($1), hashtext(user_id)))
       FROM (SELECT unnest($2::text[]) AS user_id ORDER BY 1) users`,
      [tenantId, users],
    );
    const erasedBefore = new Map(
      (
        await tx.query<{ user_id: string; version: unknown }>(
          'SELECT user_id, version FROM user_erasures WHERE tenant_id = $1 AND user_id = ANY($2::text[])',
          [tenantId, users],
        )
      ).map((row) => [row.user_id, toNumber(row.version)]),
    );
    // Rows locked in id order, so two batches holding the same ids never lock them crosswise.
    const ids = [...new Set(batch.map(({ memory }) => memory.id))].sort();
    const current = new Map(
      (
        await tx.query<{ id: string; user_id: string; version: unknown }>(
          'SELECT id, user_id, version FROM memories WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE',
          [tenantId, ids],
        )
      ).map((row) => [row.id, { userId: row.user_id, version: toNumber(row.version) }]),
    );

    // Versions of one id keep their order, and ids do not depend on each other.
    const inLockOrder = [...batch].sort((left, right) =>
      left.memory.id < right.memory.id ? -1 : left.memory.id > right.memory.id ? 1 : left.index - right.index,
    );
    const outcomes = new Map<number, ApplyOutcome>();
    const appliedById = new Map<string, number[]>();
    const winners = new Map<string, EmbeddedMemory>();
    for (const { index, memory } of inLockOrder) {
      const erasure = erasedBefore.get(memory.userId);
      if (erasure !== undefined && erasure > memory.version) {
        outcomes.set(index, { applied: false, reason: 'erased' });
        continue;
      }
      const before = current.get(memory.id);
      if (before !== undefined && before.version > memory.version) {
        outcomes.set(index, { applied: false, reason: 'superseded' });
        continue;
      }
      outcomes.set(index, { applied: true, previousUserId: before?.userId ?? null });
      current.set(memory.id, { userId: memory.userId, version: memory.version });
      appliedById.set(memory.id, [...(appliedById.get(memory.id) ?? []), index]);
      winners.set(memory.id, memory);
    }
    if (winners.size === 0) return outcomes;

    // The version guard stays in the statement: a row inserted concurrently after the read above
    // is still only replaced by a later version; what it kept out counts as superseded.
    const params: unknown[] = [];
    const rows = [...winners.values()].map((memory) => {
      const at = params.length;
      params.push(
        memory.tenantId,
        memory.id,
        memory.userId,
        memory.sessionId,
        memory.role,
        memory.text,
        embeddingToBase64(memory.embedding),
        JSON.stringify(memory.metadata),
        memory.createdAt,
        memory.updatedAt,
        memory.version,
      );
      const [t, i, u, s, r, x, e, m, c, d, v] = Array.from({ length: 11 }, (_, k) => `$${at + k + 1}`);
      return `(${t}::text, ${i}::text, ${u}::text, ${s}::text, ${r}::text, ${x}::text, decode(${e}::text, 'base64'), ${m}::jsonb,
               ${c}::timestamptz, ${d}::timestamptz, ${v}::bigint, false)`;
    });
    const written = await tx.query<{ id: string }>(
      `INSERT INTO memories (tenant_id, id, user_id, session_id, role, text, embedding, metadata,
                             created_at, updated_at, version, deleted)
       VALUES ${rows.join(', ')}
       ON CONFLICT (tenant_id, id) DO UPDATE SET
         user_id = excluded.user_id, session_id = excluded.session_id, role = excluded.role,
         text = excluded.text, embedding = excluded.embedding, metadata = excluded.metadata,
         created_at = excluded.created_at, updated_at = excluded.updated_at,
         version = excluded.version, deleted = false
       WHERE memories.version <= excluded.version
       RETURNING id`,
      params,
    );
    const landed = new Set(written.map((row) => row.id));
    for (const [id, indexes] of appliedById) {
      if (landed.has(id)) continue;
      for (const index of indexes) outcomes.set(index, { applied: false, reason: 'superseded' });
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

  async remove(tenantId: string, id: string): Promise<RemovedMemory | null> {
    const rows = await this.scope.tenantQuery<{ id: string; user_id: string }>(
      tenantId,
      `UPDATE memories
         SET deleted = true, text = NULL, embedding = NULL, metadata = NULL,
             version = nextval('write_seq'), updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND NOT deleted
         RETURNING id, user_id`,
      [tenantId, id],
    );
    const row = rows[0];
    return row === undefined ? null : { id: row.id, userId: row.user_id };
  }

  eraseUser(tenantId: string, userId: string): Promise<number> {
    return this.scope.tenant(tenantId, async (tx) => {
      await tx.query(LOCK_USER_EXCLUSIVE, [tenantId, userId]);
      // Every write accepted before this number is refused from now on.
      const [erasure] = await tx.query<{ version: unknown }>(
        `INSERT INTO user_erasures (tenant_id, user_id, version, erased_at)
         VALUES ($1, $2, nextval('write_seq'), now())
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET version = excluded.version, erased_at = excluded.erased_at
         RETURNING version`,
        [tenantId, userId],
      );
      const [erased] = await tx.query<{ count: unknown }>(
        `WITH erased AS (
           UPDATE memories
           SET deleted = true, text = NULL, embedding = NULL, metadata = NULL, version = $3, updated_at = now()
           WHERE tenant_id = $1 AND user_id = $2 AND NOT deleted
           RETURNING 1
         )
         SELECT count(*) AS count FROM erased`,
        [tenantId, userId, erasure?.version],
      );
      return toNumber(erased?.count ?? 0);
    });
  }

  async findByWords(query: WordQuery): Promise<WordMatch[]> {
    const statement = wordSearchStatement(query);
    if (statement === null) return [];
    // Its planning costs more than running it.
    const rows = await this.scope.tenantQuery<{ id: string; score: unknown }>(query.scope.tenantId, statement.text, statement.params, {
      prepare: preparable(query.scope),
    });
    return rows.map((row) => ({ id: row.id, score: toNumber(row.score) }));
  }

  async idsInScope(scope: SearchScope, limit: number): Promise<string[]> {
    const statement = scopeIdsStatement(scope, limit);
    const rows = await this.scope.tenantQuery<{ id: string }>(scope.tenantId, statement.text, statement.params, {
      prepare: preparable(scope),
    });
    return rows.map((row) => row.id);
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
      embedding: row.embedding === null || row.embedding === undefined ? null : base64ToEmbedding(row.embedding),
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

  async listOwners(): Promise<MemoryOwner[]> {
    const rows = await this.scope.systemQuery<{ tenant_id: string; user_id: string }>(
      'SELECT DISTINCT tenant_id, user_id FROM memories ORDER BY tenant_id, user_id',
    );
    return rows.map((row) => ({ tenantId: row.tenant_id, userId: row.user_id }));
  }
}
