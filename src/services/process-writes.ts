import { setTimeout as sleep } from 'node:timers/promises';
import { isDomainError } from '../domain/errors.js';
import type { EmbeddedMemory, Memory } from '../domain/memory.js';
import type { WriteTask } from '../domain/task.js';
import type { Embedder } from '../ports/embedder.js';
import type { WriteJob } from '../ports/job-queue.js';
import type { Logger } from '../ports/logger.js';
import type { MemoryRepository, TaskRepository } from '../ports/metadata-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import { followPostgres } from './follow-postgres.js';
import { TaskLeases } from './task-leases.js';
import { vectorRecord } from './vector-record.js';

export interface WriteProcessorDeps {
  readonly tasks: TaskRepository;
  readonly memories: MemoryRepository;
  readonly vectorStore: VectorStore;
  readonly embedder: Embedder;
  readonly logger: Logger;
  /**
   * How long a claim keeps other workers off its tasks, renewed while they run: recovery's
   * ENGRAM_RECOVER_AFTER_MS, after which a task untouched is taken as lost.
   */
  readonly leaseMs: number;
  /** A task claimed more often than this is given up as poison. Default 5. */
  readonly maxAttempts?: number;
}

interface AppliedWrite {
  readonly memory: EmbeddedMemory;
  /** Users other than the memory's whose vector of it may remain (see ApplyOutcome). */
  readonly formerUserIds: readonly string[];
}

/**
 * A task claimed this often without finishing runs alone from then on. A write that kills its
 * worker (a crash, not an error) is claimed again with the others of its run each time; counted
 * against all of them, it would have them given up with it. The first retry still runs whole, as a
 * run failed by a passing fault of a dependency is retried, and one by one costs each write a run.
 */
const RUN_ALONE_FROM_ATTEMPT = 3;

/**
 * Waits between tries to hand writes back while Postgres is away: about 6 s in all, within the
 * time after which recovery drives a pending write again (ENGRAM_RECOVER_AFTER_MS, 30 s by default),
 * while the job that holds them is still this worker's.
 */
const HAND_BACK_RETRY_DELAYS_MS: readonly number[] = [200, 400, 800, 1_600, 3_200];

type PendingTask = WriteTask & { readonly draft: NonNullable<WriteTask['draft']> };

/** An outage of a dependency, as opposed to a fault of the write itself. */
function isOutage(error: unknown): boolean {
  return isDomainError(error) && error.kind === 'unavailable';
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = key(item);
    const group = groups.get(name);
    if (group === undefined) groups.set(name, [item]);
    else group.push(item);
  }
  return groups;
}

/**
 * The worker's use case: embed the accepted writes and make both stores hold them, exactly once.
 * Postgres is written first and decides which version wins; the vector store then follows it.
 */
export class WriteProcessor {
  private readonly maxAttempts: number;
  private readonly leases: TaskLeases;

  constructor(private readonly deps: WriteProcessorDeps) {
    this.maxAttempts = deps.maxAttempts ?? 5;
    this.leases = new TaskLeases({ tasks: deps.tasks, logger: deps.logger, leaseMs: deps.leaseMs });
  }

  /** Stops renewing the claims of runs still going: their tasks go to another worker in time. */
  close(): Promise<void> {
    return this.leases.close();
  }

  /** Throws when the job should be tried again later; permanent failures are recorded on the task. */
  async process(job: WriteJob): Promise<void> {
    const runnable = await this.claimRunnable(job.taskIds);
    const suspects = runnable.length > 1 ? runnable.filter((task) => task.attempts >= RUN_ALONE_FROM_ATTEMPT) : [];
    if (suspects.length === 0) return this.processRun(runnable);
    // Handed back uncounted, then claimed again one at a time: a crash now counts against the
    // write that ran, never against the others of its run.
    await this.deps.tasks.release(suspects.map((task) => task.taskId));
    this.deps.logger.warn({ tasks: suspects.length }, 'writes claimed before without finishing; running them one at a time');
    await this.processRun(runnable.filter((task) => task.attempts < RUN_ALONE_FROM_ATTEMPT));
    for (const suspect of suspects) await this.processRun(await this.claimRunnable([suspect.taskId]));
  }

  /** Claims the tasks still pending and fails those that cannot run: no payload, or claimed too often. */
  private async claimRunnable(taskIds: readonly string[]): Promise<PendingTask[]> {
    const claimed = await this.deps.tasks.claim(taskIds, this.deps.leaseMs);
    const runnable: PendingTask[] = [];
    for (const task of claimed) {
      if (task.draft === null) {
        await this.deps.tasks.fail(task.taskId, { code: 'missing_payload', message: 'the write has no payload to store' });
      } else if (task.attempts > this.maxAttempts) {
        await this.deps.tasks.fail(task.taskId, {
          code: 'max_attempts_exceeded',
          message: `the write failed ${this.maxAttempts} times and was given up`,
        });
      } else {
        runnable.push({ ...task, draft: task.draft });
      }
    }
    return runnable;
  }

  private async processRun(runnable: readonly PendingTask[]): Promise<void> {
    if (runnable.length === 0) return;
    const lease = this.leases.hold(runnable.map((task) => task.taskId));
    try {
      await this.processClaimed(runnable);
    } finally {
      await lease.end();
    }
  }

  private async processClaimed(runnable: readonly PendingTask[]): Promise<void> {
    try {
      await this.processTasks(runnable);
    } catch (error) {
      if (isOutage(error)) return this.handBack(runnable, error);
      if (runnable.length === 1 || (isDomainError(error) && error.retryable)) return this.retryLater(runnable, error);
      // One bad write must not hold back the others of its job: retry them one by one.
      this.deps.logger.warn({ err: error, tasks: runnable.length }, 'batch failed; processing its writes one by one');
      for (const task of runnable) {
        try {
          await this.processTasks([task]);
        } catch (single) {
          if (isOutage(single)) return this.handBack(runnable, single);
          return this.retryLater(runnable, single);
        }
      }
    }
  }

  /**
   * The run failed in a way a later try may not: its claim ends now, attempt counted, for the job's
   * next try to claim its writes again rather than find them under this one's lease. Throws so the
   * queue tries again after its back-off; a hand-back that fails leaves the lease to run out.
   */
  private async retryLater(tasks: readonly PendingTask[], failure: unknown): Promise<never> {
    await this.deps.tasks.release(tasks.map((task) => task.taskId), { keepAttempt: true }).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, tasks: tasks.length }, 'could not hand failed writes back; recovery drives them again');
    });
    throw failure;
  }

  /**
   * A dependency is away (or misconfigured): nothing is wrong with these writes, so their attempt
   * is not counted and they wait, however long the outage lasts. Throws so the queue backs off.
   * Postgres may be the one away: handing back is then tried again for a few seconds, as a write
   * whose claim was counted and never handed back would be given up after a few such outages.
   */
  private async handBack(tasks: readonly PendingTask[], outage: unknown): Promise<never> {
    const taskIds = tasks.map((task) => task.taskId);
    for (const delayMs of [...HAND_BACK_RETRY_DELAYS_MS, null]) {
      try {
        // Only tasks still processing are released: those the job already finished stay finished.
        await this.deps.tasks.release(taskIds);
        break;
      } catch (error) {
        if (delayMs === null || !isOutage(error)) {
          this.deps.logger.warn({ err: error, tasks: taskIds.length }, 'could not hand writes back; their attempt counts and recovery drives them again');
          break;
        }
        await sleep(delayMs);
      }
    }
    throw outage;
  }

  private async processTasks(tasks: readonly PendingTask[]): Promise<void> {
    try {
      const embeddings = await this.deps.embedder.embed(tasks.map((task) => task.draft.text));
      const applied: AppliedWrite[] = [];
      const now = new Date();
      const inWriteOrder = tasks
        .map((task, index) => ({ task, embedding: embeddings[index] }))
        .sort((a, b) => a.task.seq - b.task.seq);
      const memories = inWriteOrder.map(({ task, embedding }): EmbeddedMemory => {
        if (embedding === undefined) throw new Error('embedder returned fewer vectors than texts');
        return { ...task.draft, version: task.seq, updatedAt: now, embedding };
      });
      // A few transactions for the whole batch, with the same outcomes as applying them one by one.
      const outcomes = await this.deps.memories.applyMany(memories);
      memories.forEach((memory, index) => {
        const outcome = outcomes[index];
        if (outcome?.applied === true) applied.push({ memory, formerUserIds: outcome.formerUserIds });
      });
      await this.syncVectors(applied);
      await this.deps.tasks.complete(tasks.map((task) => task.taskId));
    } catch (error) {
      if (tasks.length === 1 && isDomainError(error) && !error.retryable) {
        const [task] = tasks;
        if (task !== undefined) await this.deps.tasks.fail(task.taskId, { code: error.code, message: error.message });
        return;
      }
      throw error;
    }
  }

  /** Makes the vector store match what Postgres holds for these memories now. */
  private async syncVectors(applied: readonly AppliedWrite[]): Promise<void> {
    if (applied.length === 0) return;
    const latest = latestVersions(applied);
    for (const { memory, formerUserIds } of latest) {
      for (const userId of formerUserIds) await this.deps.vectorStore.remove(memory.tenantId, userId, [memory.id]);
    }
    await this.deps.vectorStore.upsert(latest.map(({ memory }) => vectorRecord(memory)));
    // A delete, an erasure or a newer write may have landed in Postgres while we wrote vectors:
    // whoever sees the difference follows Postgres until it holds still, so the stores converge.
    for (const [tenantId, writes] of groupBy(latest, ({ memory }) => memory.tenantId)) {
      const current = new Map<string, Memory>(
        (await this.deps.memories.getMany(tenantId, writes.map(({ memory }) => memory.id))).map((memory) => [memory.id, memory]),
      );
      for (const { memory } of writes) {
        // A newer write that moved it to another user removed the old user's vector before this
        // one was written: this copy is ours to remove, as is the vector of a memory deleted since.
        if (current.get(memory.id)?.version !== memory.version) await followPostgres(this.deps, tenantId, memory.id, [memory.userId]);
      }
    }
  }
}

interface LatestVersion {
  readonly memory: EmbeddedMemory;
  /** Users that held the memory before it, whose vector of it must go. */
  readonly formerUserIds: readonly string[];
}

/**
 * The last applied version of each memory, with every user an earlier one (or the row before the
 * run) gave it: a run that moves a memory from one user to another writes only the last owner's
 * vector, and removes the others'.
 */
function latestVersions(applied: readonly AppliedWrite[]): LatestVersion[] {
  const byMemory = new Map<string, { memory: EmbeddedMemory; userIds: Set<string> }>();
  for (const { memory, formerUserIds } of applied) {
    const key = `${memory.tenantId}\u0000${memory.id}`;
    const earlier = byMemory.get(key);
    const userIds = earlier?.userIds ?? new Set<string>();
    for (const userId of formerUserIds) userIds.add(userId);
    if (earlier === undefined) {
      byMemory.set(key, { memory, userIds });
    } else {
      userIds.add(earlier.memory.userId).add(memory.userId);
      if (memory.version > earlier.memory.version) byMemory.set(key, { memory, userIds });
    }
  }
  return [...byMemory.values()].map(({ memory, userIds }) => ({
    memory,
    formerUserIds: [...userIds].filter((userId) => userId !== memory.userId),
  }));
}
