import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import { newMemoryId, newTaskId } from '../domain/ids.js';
import type { MemoryDraft } from '../domain/memory.js';
import type { Principal } from '../domain/api-key.js';
import type { JobQueue, WriteJob } from '../ports/job-queue.js';
import type { Logger } from '../ports/logger.js';
import type { NewWriteTask, TaskRepository, AcceptedTask } from '../ports/metadata-store.js';
import type { AsyncRedactor } from '../ports/redactor.js';
import { mapInSlices } from '../support/map-in-slices.js';
import { AcceptGroups } from './accept-groups.js';
import type { WriteBacklog } from './write-backlog.js';
import type { AcceptedWrite, WriteRequest } from './write-request.js';

/** Tasks handed to one job: the worker embeds them in one batch. */
const TASKS_PER_JOB = 32;
const RESERVED_METADATA_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface WriteAcceptorDeps {
  readonly tasks: TaskRepository;
  readonly queue: JobQueue;
  /** Null when redaction is off. */
  readonly redactor: AsyncRedactor | null;
  readonly logger: Logger;
  /** Refuses writes while too many wait to be stored. Default: no limit. */
  readonly backlog?: WriteBacklog;
}

/**
 * A batch's key, for one of its items. A space never occurs in a key a client sends (the API takes
 * visible ASCII only), so no single write's key can be an item's: with "#" as the separator, a
 * single write keyed "k#1" was answered with item 1 of batch "k" and dropped.
 */
function batchItemKey(key: string, index: number): string {
  return `${key} ${index}`;
}

/**
 * The accept path of a write: redact, record the write durably, wake a worker. A 202 is returned
 * only after the task is committed to the metadata store, so it survives any queue or worker loss.
 * The wake-up is not waited for: the queue's answer changes nothing for the caller (a lost
 * wake-up is made good by recovery), and Redis' took a third of a distributed accept's time.
 */
export class WriteAcceptor {
  /** Wake-ups handed to the queue and not yet answered. */
  readonly #waking = new Set<Promise<void>>();
  /** A tenant's writes, committed together while one of its accepts commits. */
  readonly #groups: AcceptGroups;

  constructor(private readonly deps: WriteAcceptorDeps) {
    this.#groups = new AcceptGroups((tasks) => deps.tasks.accept(tasks));
  }

  async accept(principal: Principal, requests: readonly WriteRequest[], idempotencyKey: string | null): Promise<AcceptedWrite[]> {
    const now = new Date();
    for (const request of requests) checkMetadataKeys(request);
    const drafts = await this.draft(principal.tenantId, requests, now);
    const tasks: NewWriteTask[] = drafts.map((draft, index) => ({
      taskId: newTaskId(),
      draft,
      idempotencyKey: idempotencyKey === null ? null : requests.length === 1 ? idempotencyKey : batchItemKey(idempotencyKey, index),
      requestHash: idempotencyKey === null ? null : requestHashOf(requests[index] as WriteRequest, draft, requests.length),
    }));
    await this.deps.backlog?.reserve(tasks.length);
    const accepted = await this.#groups.accept(principal.tenantId, tasks);
    // A retry whose task no worker has claimed yet wakes it again: the first request's wake-up may
    // never have been sent (that request failed after its commit, or its process stopped).
    this.wake(accepted.filter((task) => task.queued));
    return accepted.map((task) => ({ id: task.memoryId, taskId: task.taskId }));
  }

  /** Resolves once the queue has answered every wake-up handed to it: for an orderly stop. */
  async settle(): Promise<void> {
    while (this.#waking.size > 0) await Promise.all([...this.#waking]);
  }

  /**
   * Each request's memory as it is stored. A short text is redacted here, and a batch of them a
   * slice at a time: at about 0.15 ms a text, a batch of 1,000 held the event loop, and every
   * request waiting on it, for 150 ms and more. Long texts go to the redactor's thread meanwhile.
   */
  private async draft(tenantId: string, requests: readonly WriteRequest[], now: Date): Promise<MemoryDraft[]> {
    const redactor = this.deps.redactor;
    if (redactor === null) return requests.map((request) => draftOf(tenantId, request, request.text, now));
    const drafts = await mapInSlices(requests, (request) => {
      const draft = redactor.redactText(request.text).then((text) => draftOf(tenantId, request, text, now));
      // Handled by Promise.all below: a failure before the batch's last slice must not be taken
      // for one that nobody waits on.
      draft.catch(() => undefined);
      return draft;
    });
    return Promise.all(drafts);
  }

  private wake(tasks: readonly AcceptedTask[]): void {
    const jobs: WriteJob[] = [];
    for (let start = 0; start < tasks.length; start += TASKS_PER_JOB) {
      jobs.push({ taskIds: tasks.slice(start, start + TASKS_PER_JOB).map((task) => task.taskId) });
    }
    if (jobs.length === 0) return;
    const waking = this.deps.queue.enqueue(jobs).then(
      () => undefined,
      (error: unknown) => {
        // The tasks are committed: recovery drives them once the queue is back. Failing the
        // request would make a client retry a write that is already safe, and store it twice.
        this.deps.logger.warn({ err: error, tasks: tasks.length }, 'queue unavailable; accepted writes wait for recovery');
      },
    );
    this.#waking.add(waking);
    void waking.finally(() => this.#waking.delete(waking));
  }
}

/**
 * What a keyed write asked for, as a hash: its fields as sent (the text as stored, redacted), and
 * the size of its batch, so that a retry with more or fewer items is another request.
 */
function requestHashOf(request: WriteRequest, draft: MemoryDraft, batchSize: number): string {
  const asked = [batchSize, request.id ?? null, request.userId, request.sessionId, draft.role, draft.text, request.metadata ?? null, request.createdAt?.toISOString() ?? null];
  return createHash('sha256').update(JSON.stringify(asked)).digest('base64url');
}

function checkMetadataKeys(request: WriteRequest): void {
  for (const key of Object.keys(request.metadata ?? {})) {
    if (RESERVED_METADATA_KEYS.has(key)) throw new ValidationError(`metadata key "${key}" is not allowed`);
  }
}

function draftOf(tenantId: string, request: WriteRequest, text: string, now: Date): MemoryDraft {
  return {
    id: request.id ?? newMemoryId(),
    tenantId,
    userId: request.userId,
    sessionId: request.sessionId,
    role: request.role ?? 'user',
    text,
    createdAt: request.createdAt ?? now,
    metadata: { ...request.metadata },
  };
}
