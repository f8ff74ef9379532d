import { DomainError, IdempotencyKeyReusedError } from '../../domain/errors.js';
import type { MemoryDraft } from '../../domain/memory.js';
import type { TaskError, TaskStatus, TaskSummary, WriteTask } from '../../domain/task.js';
import type { AcceptedTask, NewWriteTask, StaleTasksCursor, StaleTasksPage, TaskRepository } from '../../ports/metadata-store.js';
import type { RowScope } from './row-scope.js';
import { LOCK_USERS_SHARED } from './user-locks.js';
import { toDate, toNumber } from './values.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Task ids are uuids; anything else cannot name a task, and would make the cast fail. */
function uuidsOnly(ids: readonly string[]): string[] {
  return ids.filter((id) => UUID.test(id));
}

interface TaskRow {
  task_id: string;
  tenant_id: string;
  memory_id: string;
  status: TaskStatus;
  seq: unknown;
  attempts: unknown;
  error_code: string | null;
  error_message: string | null;
  draft: unknown;
  created_at: unknown;
  updated_at: unknown;
}

interface StoredDraft extends Omit<MemoryDraft, 'createdAt'> {
  readonly createdAt: string;
}

function reviveDraft(value: unknown): MemoryDraft | null {
  if (value === null || value === undefined) return null;
  const stored = (typeof value === 'string' ? JSON.parse(value) : value) as StoredDraft;
  return { ...stored, createdAt: new Date(stored.createdAt) };
}

function taskError(row: Pick<TaskRow, 'error_code' | 'error_message'>): TaskError | null {
  return row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' };
}

function toWriteTask(row: TaskRow): WriteTask {
  return {
    taskId: row.task_id,
    tenantId: row.tenant_id,
    memoryId: row.memory_id,
    status: row.status,
    seq: toNumber(row.seq),
    attempts: toNumber(row.attempts),
    error: taskError(row),
    draft: reviveDraft(row.draft),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

const PENDING = `status IN ('queued', 'processing')`;

/**
 * A task last touched at least `param` ms ago, by the database's clock: what a claim's lease and
 * recovery's delay both measure, so that a task recovery drives again is one a claim may take.
 */
function untouchedFor(param: string): string {
  return `updated_at < now() - ${param}::double precision * interval '1 millisecond'`;
}

const ACCEPT_INPUT = `unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
  WITH ORDINALITY AS input(task_id, tenant_id, memory_id, user_id, draft, idempotency_key, request_hash, position)`;

/**
 * See SqlTaskRepository.accept: the batch's rows in list order, those of a key stored already
 * inserting nothing; `onlyIf` may hold the whole batch back.
 */
const acceptTasks = (onlyIf: string): string => `
  INSERT INTO write_tasks (task_id, tenant_id, memory_id, user_id, draft, idempotency_key, request_hash)
  SELECT task_id, tenant_id, memory_id, user_id, draft::jsonb, idempotency_key, request_hash
  FROM ${ACCEPT_INPUT}
  ${onlyIf}
  ORDER BY position
  ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
  RETURNING task_id, seq`;

const ACCEPT_TASKS = acceptTasks('');

/**
 * Nothing of the batch is stored when one of its keys was first sent with another request (a key
 * committed meanwhile is met by the conflict, and told after).
 */
const ACCEPT_KEYED_TASKS = acceptTasks(`
  WHERE NOT EXISTS (
    SELECT 1 FROM write_tasks earlier
    JOIN unnest($2::text[], $6::text[], $7::text[]) AS sent(tenant_id, idempotency_key, request_hash)
      ON earlier.tenant_id = sent.tenant_id AND earlier.idempotency_key = sent.idempotency_key
    WHERE earlier.request_hash <> sent.request_hash
  )`);

/** Whether a key's first request and a later one differ, as far as both were hashed. */
function isOtherRequest(first: string | null, later: string | null | undefined): boolean {
  return first !== null && later !== null && later !== undefined && first !== later;
}

export class SqlTaskRepository implements TaskRepository {
  constructor(private readonly scope: RowScope) {}

  async accept(tasks: readonly NewWriteTask[]): Promise<AcceptedTask[]> {
    if (tasks.length === 0) return [];
    const tenants = new Set(tasks.map((task) => task.draft.tenantId));
    const [onlyTenant] = tenants;
    // A batch of one tenant (the API's only kind) is checked against that tenant's rows. Each
    // statement is a transaction of its own: the insert commits before replays are looked up.
    // Both run for every write request: prepared.
    const run = <Row>(text: string, params: readonly unknown[]): Promise<Row[]> =>
      tenants.size === 1 && onlyTenant !== undefined
        ? this.scope.tenantQuery<Row>(onlyTenant, text, params, { prepare: true })
        : this.scope.systemQuery<Row>(text, params);
    // One statement for the whole batch. Rows go in list order, so sequence numbers do too; a
    // key that exists already (or twice in the batch) inserts nothing, even when another
    // transaction holds it uncommitted: the conflict check waits for it. After the users' locks
    // (LOCK_USERS_SHARED), in the same transaction: an erasure under way is not passed by a write
    // numbered before it and committed while it reads the writes not yet stored.
    const keyed = tasks.some((task) => task.idempotencyKey !== null);
    const insert = keyed ? ACCEPT_KEYED_TASKS : ACCEPT_TASKS;
    const insertParams = [
      tasks.map((task) => task.taskId),
      tasks.map((task) => task.draft.tenantId),
      tasks.map((task) => task.draft.id),
      tasks.map((task) => task.draft.userId),
      tasks.map((task) => JSON.stringify(task.draft)),
      tasks.map((task) => task.idempotencyKey),
      tasks.map((task) => task.requestHash ?? null),
    ];
    const inserted =
      tenants.size === 1 && onlyTenant !== undefined
        ? await this.scope.tenantTransactionOf<{ task_id: string; seq: unknown }>(onlyTenant, [
            { text: LOCK_USERS_SHARED, params: [onlyTenant, [...new Set(tasks.map((task) => task.draft.userId))]], prepare: true },
            { text: insert, params: insertParams, prepare: true },
          ])
        : // A batch of several tenants (never the API's) takes no user's lock.
          await this.scope.systemQuery<{ task_id: string; seq: unknown }>(insert, insertParams);
    const seqOf = new Map(inserted.map((row) => [row.task_id, toNumber(row.seq)]));
    const replays = tasks.filter((task) => !seqOf.has(task.taskId));
    // A fresh snapshot, so it sees a key committed concurrently.
    const existing =
      replays.length === 0
        ? []
        : await run<{ task_id: string; tenant_id: string; memory_id: string; seq: unknown; status: string; idempotency_key: string; request_hash: string | null }>(
            `SELECT task_id, tenant_id, memory_id, seq, status, idempotency_key, request_hash FROM write_tasks
             WHERE (tenant_id, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
            [replays.map((task) => task.draft.tenantId), replays.map((task) => task.idempotencyKey)],
          );
    const byKey = new Map(existing.map((row) => [`${row.tenant_id}\u0000${row.idempotency_key}`, row]));
    for (const task of replays) {
      const first = byKey.get(`${task.draft.tenantId}\u0000${task.idempotencyKey ?? ''}`);
      if (first !== undefined && isOtherRequest(first.request_hash, task.requestHash)) throw new IdempotencyKeyReusedError();
    }
    return tasks.map((task) => {
      const seq = seqOf.get(task.taskId);
      if (seq !== undefined) return { taskId: task.taskId, memoryId: task.draft.id, seq, replayed: false, queued: true };
      const first = byKey.get(`${task.draft.tenantId}\u0000${task.idempotencyKey ?? ''}`);
      if (first === undefined) {
        throw new DomainError('internal', 'task_not_stored', `write task ${task.taskId} was neither stored nor replayed`);
      }
      return { taskId: first.task_id, memoryId: first.memory_id, seq: toNumber(first.seq), replayed: true, queued: first.status === 'queued' };
    });
  }

  async find(tenantId: string, taskId: string): Promise<TaskSummary | null> {
    if (!UUID.test(taskId)) return null;
    const rows = await this.scope.tenantQuery<Pick<TaskRow, 'task_id' | 'memory_id' | 'status' | 'error_code' | 'error_message'>>(
      tenantId,
      `SELECT task_id, memory_id, status, error_code, error_message FROM write_tasks
         WHERE tenant_id = $1 AND task_id = $2`,
      [tenantId, taskId],
      { prepare: true },
    );
    const row = rows[0];
    if (row === undefined) return null;
    return { taskId: row.task_id, memoryId: row.memory_id, status: row.status, error: taskError(row) };
  }

  /**
   * Flushed, unlike the worker's later steps: an attempt counts even when the write that made it
   * crashes the process, so that a write that does so every time is given up.
   */
  async claim(taskIds: readonly string[], leaseMs: number): Promise<WriteTask[]> {
    const ids = uuidsOnly(taskIds);
    if (ids.length === 0) return [];
    const rows = await this.scope.systemQuery<TaskRow>(
      `UPDATE write_tasks SET status = 'processing', attempts = attempts + 1, updated_at = now()
         WHERE task_id = ANY($1::uuid[])
           AND (status = 'queued'
                OR (status = 'processing' AND ${untouchedFor('$2')}))
         RETURNING task_id, tenant_id, memory_id, status, seq, attempts, error_code, error_message,
                   draft, created_at, updated_at`,
      [ids, leaseMs],
    );
    // Write order, so that a batch applies its writes of one memory oldest first.
    return rows.map(toWriteTask).sort((a, b) => a.seq - b.seq);
  }

  /** Unflushed: a completion a crash loses is made again by recovery (see CommitMode). */
  async complete(taskIds: readonly string[]): Promise<void> {
    const ids = uuidsOnly(taskIds);
    if (ids.length === 0) return;
    await this.scope.systemQuery(
      `UPDATE write_tasks
         SET status = 'completed', draft = NULL, error_code = NULL, error_message = NULL, updated_at = now()
         WHERE task_id = ANY($1::uuid[]) AND ${PENDING}`,
      [ids],
      'unflushed',
    );
  }

  async fail(taskId: string, error: TaskError): Promise<void> {
    if (!UUID.test(taskId)) return;
    await this.scope.systemQuery(
      `UPDATE write_tasks
         SET status = 'failed', draft = NULL, error_code = $2, error_message = $3, updated_at = now()
         WHERE task_id = $1 AND ${PENDING}`,
      [taskId, error.code, error.message],
    );
  }

  async renew(taskIds: readonly string[]): Promise<void> {
    const ids = uuidsOnly(taskIds);
    if (ids.length === 0) return;
    await this.scope.systemQuery(
      `UPDATE write_tasks SET updated_at = now() WHERE task_id = ANY($1::uuid[]) AND status = 'processing'`,
      [ids],
      'unflushed',
    );
  }

  async release(taskIds: readonly string[], options: { readonly keepAttempt?: boolean } = {}): Promise<void> {
    const ids = uuidsOnly(taskIds);
    if (ids.length === 0) return;
    await this.scope.systemQuery(
      `UPDATE write_tasks
         SET status = 'queued', attempts = CASE WHEN $2::boolean THEN attempts ELSE GREATEST(attempts - 1, 0) END, updated_at = now()
         WHERE task_id = ANY($1::uuid[]) AND status = 'processing'`,
      [ids, options.keepAttempt === true],
    );
  }

  async releaseAll(): Promise<number> {
    const rows = await this.scope.systemQuery<{ released: unknown }>(
      `WITH released AS (
         UPDATE write_tasks SET status = 'queued', updated_at = now() WHERE status = 'processing' RETURNING 1)
       SELECT count(*) AS released FROM released`,
    );
    return toNumber(rows[0]?.released ?? 0);
  }

  async findStale(untouchedForMs: number, limit: number, after?: StaleTasksCursor): Promise<StaleTasksPage> {
    // The cursor keeps the time as the database wrote it, to the microsecond: a batch's tasks share
    // one, which a millisecond Date would cut below, and a page would then follow itself.
    const rows = await this.scope.systemQuery<{ task_id: string; tenant_id: string; updated_at: string; seq: unknown }>(
      `SELECT task_id, tenant_id, updated_at::text AS updated_at, seq FROM write_tasks
         WHERE ${PENDING} AND ${untouchedFor('$1')}
           AND ($3::timestamptz IS NULL OR (updated_at, seq) > ($3::timestamptz, $4::bigint))
         ORDER BY updated_at, seq
         LIMIT $2`,
      [untouchedForMs, limit, after?.updatedAt ?? null, after?.seq ?? 0],
    );
    const last = rows.at(-1);
    return {
      tasks: rows.map((row) => ({ taskId: row.task_id, tenantId: row.tenant_id })),
      next: rows.length === limit && last !== undefined ? { updatedAt: last.updated_at, seq: toNumber(last.seq) } : null,
    };
  }

  async countPending(): Promise<number> {
    const rows = await this.scope.systemQuery<{ pending: unknown }>(`SELECT count(*) AS pending FROM write_tasks WHERE ${PENDING}`);
    return toNumber(rows[0]?.pending ?? 0);
  }

  async forgetFinished(before: Date, limit: number): Promise<number> {
    // The condition is the index write_tasks_finished's, which lists these tasks by age. An array
    // of ids, rather than IN (SELECT …), has the rows found by their key: with a generic plan the
    // planner cannot tell how few the LIMIT leaves, and joined them against the whole table.
    const rows = await this.scope.systemQuery<{ forgotten: unknown }>(
      `WITH forgotten AS (
         DELETE FROM write_tasks WHERE task_id = ANY (ARRAY(
           SELECT task_id FROM write_tasks
           WHERE status IN ('completed', 'failed') AND idempotency_key IS NULL AND updated_at < $1
           ORDER BY updated_at
           LIMIT $2))
         RETURNING 1)
       SELECT count(*) AS forgotten FROM forgotten`,
      [before, limit],
    );
    return toNumber(rows[0]?.forgotten ?? 0);
  }
}
