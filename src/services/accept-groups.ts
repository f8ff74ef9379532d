import type { AcceptedTask, NewWriteTask } from '../ports/metadata-store.js';

/** Most tasks committed in one group: a batch request's whole size. */
const GROUP_TASKS = 1_000;

/** Stores write tasks durably in one transaction, answering each task in order (TaskRepository.accept). */
export type AcceptTasks = (tasks: readonly NewWriteTask[]) => Promise<AcceptedTask[]>;

interface WaitingAccept {
  readonly tasks: readonly NewWriteTask[];
  readonly resolve: (accepted: AcceptedTask[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for one tenant's writes. A write's accept commits its task, with a flush of the
 * database's log, before its 202: writes sent together queued one commit each on the embedded
 * database, which runs one transaction at a time, and took a connection and a transaction each
 * on a server. Here the writes of a tenant that arrive while one of its accepts is committing wait
 * for it, then commit together: one transaction and one flush for all of them. A lone write
 * commits at once, as before. A group holds a key once at most: a key that reaches the database
 * twice in one statement stores the first request and tells the second's (a retry's, or another
 * request's, which fails) only after the commit. A group that fails (a key first sent with another
 * request holds back the whole statement) commits each of its writes again on its own, so that
 * every write gets its own answer.
 */
export class AcceptGroups {
  readonly #waiting = new Map<string, WaitingAccept[]>();

  constructor(private readonly acceptTasks: AcceptTasks) {}

  /** Resolves once `tasks` are committed, with each task's answer in order. */
  accept(tenantId: string, tasks: readonly NewWriteTask[]): Promise<AcceptedTask[]> {
    return new Promise((resolve, reject) => {
      const waiting = this.#waiting.get(tenantId);
      if (waiting !== undefined) {
        waiting.push({ tasks, resolve, reject });
        return;
      }
      // None of the tenant's accepts is committing: this one starts their turn, alone.
      this.#waiting.set(tenantId, [{ tasks, resolve, reject }]);
      void this.#commitInTurn(tenantId);
    });
  }

  /** Commits the tenant's waiting writes, group after group, until none waits. */
  async #commitInTurn(tenantId: string): Promise<void> {
    for (let group = this.#nextGroup(tenantId); group.length > 0; group = this.#nextGroup(tenantId)) {
      await commitGroup(this.acceptTasks, group);
    }
  }

  /**
   * The writes waiting for the tenant, in the order sent: up to GROUP_TASKS tasks (at least one
   * write), and up to the first write that repeats an idempotency key of the group's. None ends
   * the tenant's turn.
   */
  #nextGroup(tenantId: string): WaitingAccept[] {
    const waiting = this.#waiting.get(tenantId) ?? [];
    const keys = new Set<string>();
    let tasks = 0;
    let taken = 0;
    for (const write of waiting) {
      tasks += write.tasks.length;
      const repeatsKey = write.tasks.some((task) => task.idempotencyKey !== null && keys.has(task.idempotencyKey));
      if (taken > 0 && (tasks > GROUP_TASKS || repeatsKey)) break;
      for (const task of write.tasks) if (task.idempotencyKey !== null) keys.add(task.idempotencyKey);
      taken += 1;
    }
    const group = waiting.splice(0, taken);
    if (group.length === 0) this.#waiting.delete(tenantId);
    return group;
  }
}

async function commitGroup(acceptTasks: AcceptTasks, group: readonly WaitingAccept[]): Promise<void> {
  if (group.length > 1) {
    let accepted: AcceptedTask[] | null = null;
    try {
      accepted = await acceptTasks(group.flatMap((write) => write.tasks));
    } catch {
      // Each alone below: one write's failure is its own.
    }
    if (accepted !== null) {
      let offset = 0;
      for (const write of group) {
        write.resolve(accepted.slice(offset, offset + write.tasks.length));
        offset += write.tasks.length;
      }
      return;
    }
  }
  await Promise.all(
    group.map(async (write) => {
      try {
        write.resolve(await acceptTasks(write.tasks));
      } catch (error) {
        write.reject(error);
      }
    }),
  );
}
