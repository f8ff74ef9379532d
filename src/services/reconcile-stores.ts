import type { Logger } from '../ports/logger.js';
import type { MemoryOwner, MemoryRepository, TaskRepository } from '../ports/metadata-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import { vectorRecord } from './vector-record.js';

export interface StoreReconcilerDeps {
  readonly memories: MemoryRepository;
  readonly vectorStore: VectorStore;
  readonly tasks: TaskRepository;
  readonly logger: Logger;
  /** A pending task untouched this long counts as stuck. Default 5 minutes. */
  readonly stuckAfterMs?: number;
}

/** How one user's vectors differ from the live memories in Postgres. */
export interface OwnerDrift extends MemoryOwner {
  /** Live memories without a vector: searches cannot find them. */
  readonly missingVectors: readonly string[];
  /** Vectors without a live memory: searches skip them, but they take room and hold data. */
  readonly orphanVectors: readonly string[];
}

export interface DriftReport {
  readonly ownersChecked: number;
  readonly drifts: readonly OwnerDrift[];
  readonly missingVectors: number;
  readonly orphanVectors: number;
  /** Pending tasks untouched for longer than `stuckAfterMs` (counted up to 1,000). */
  readonly stuckTasks: number;
}

export interface RepairReport extends DriftReport {
  /** Vectors written again from the embedding kept in Postgres. */
  readonly restored: number;
  /** Orphan vectors deleted. */
  readonly removed: number;
}

const STUCK_TASKS_COUNTED = 1_000;

/**
 * Compares, user by user, the live memories in Postgres (the truth) with the vectors in the vector
 * store, and repairs the difference: a missing vector is written again from the embedding stored
 * with the memory, an orphan is deleted. Every repair looks at Postgres again afterwards, so a
 * write or delete that lands meanwhile is followed rather than undone.
 */
export class StoreReconciler {
  private readonly stuckAfterMs: number;

  constructor(private readonly deps: StoreReconcilerDeps) {
    this.stuckAfterMs = deps.stuckAfterMs ?? 300_000;
  }

  async inspect(): Promise<DriftReport> {
    const owners = await this.deps.memories.listOwners();
    const drifts: OwnerDrift[] = [];
    for (const owner of owners) {
      const drift = await this.inspectOwner(owner);
      if (drift.missingVectors.length > 0 || drift.orphanVectors.length > 0) drifts.push(drift);
    }
    const stuck = (await this.deps.tasks.findStale(this.stuckAfterMs, STUCK_TASKS_COUNTED)).tasks;
    return {
      ownersChecked: owners.length,
      drifts,
      missingVectors: drifts.reduce((sum, drift) => sum + drift.missingVectors.length, 0),
      orphanVectors: drifts.reduce((sum, drift) => sum + drift.orphanVectors.length, 0),
      stuckTasks: stuck.length,
    };
  }

  async repair(): Promise<RepairReport> {
    const report = await this.inspect();
    let restored = 0;
    let removed = 0;
    for (const drift of report.drifts) {
      for (const id of drift.missingVectors) if (await this.restore(drift, id)) restored += 1;
      for (const id of drift.orphanVectors) if (await this.removeOrphan(drift, id)) removed += 1;
    }
    if (restored + removed > 0) this.deps.logger.info({ restored, removed }, 'repaired drift between the stores');
    return { ...report, restored, removed };
  }

  private async inspectOwner(owner: MemoryOwner): Promise<OwnerDrift> {
    const [live, vectors] = await Promise.all([
      this.deps.memories.listIds(owner.tenantId, owner.userId),
      this.deps.vectorStore.listIds(owner.tenantId, owner.userId),
    ]);
    const liveSet = new Set(live);
    const vectorSet = new Set(vectors);
    return {
      ...owner,
      missingVectors: live.filter((id) => !vectorSet.has(id)),
      orphanVectors: vectors.filter((id) => !liveSet.has(id)),
    };
  }

  private async restore(owner: MemoryOwner, id: string): Promise<boolean> {
    const memory = await this.deps.memories.getEmbedded(owner.tenantId, id);
    if (memory === null || memory.userId !== owner.userId) return false;
    await this.deps.vectorStore.upsert([vectorRecord(memory)]);
    await this.followPostgres(owner, id, memory.version);
    return true;
  }

  private async removeOrphan(owner: MemoryOwner, id: string): Promise<boolean> {
    await this.deps.vectorStore.remove(owner.tenantId, owner.userId, [id]);
    await this.followPostgres(owner, id, null);
    return true;
  }

  /** After a repair, writes what Postgres holds now, in case a write or delete landed meanwhile. */
  private async followPostgres(owner: MemoryOwner, id: string, writtenVersion: number | null): Promise<void> {
    const current = await this.deps.memories.getEmbedded(owner.tenantId, id);
    if (current === null || current.userId !== owner.userId) {
      if (writtenVersion !== null) await this.deps.vectorStore.remove(owner.tenantId, owner.userId, [id]);
    } else if (current.version !== writtenVersion) {
      await this.deps.vectorStore.upsert([vectorRecord(current)]);
    }
  }
}
