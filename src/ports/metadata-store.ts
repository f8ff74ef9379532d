import type { ApiKeyRecord } from '../domain/api-key.js';
import type { SearchScope } from '../domain/filters.js';
import type { CandidateMemory, Memory, EmbeddedMemory, MemoryDraft } from '../domain/memory.js';
import type { TaskError, TaskSummary, WriteTask } from '../domain/task.js';
import type { EmbeddingModelInfo } from './embedder.js';
import type { Neighbourhood, SearchLists, SearchListsQuery, WordMatch, WordQuery } from './memory-retrieval.js';

export interface NewWriteTask {
  readonly taskId: string;
  readonly draft: MemoryDraft;
  /** With a key, accepting the same (tenant, key) again returns the first task instead. */
  readonly idempotencyKey: string | null;
  /**
   * What the keyed request asked for, as a hash: the same key with another hash is refused
   * (IdempotencyKeyReusedError), and nothing of that batch is stored. Null: not compared.
   */
  readonly requestHash?: string | null;
}

export interface AcceptedTask {
  readonly taskId: string;
  readonly memoryId: string;
  readonly seq: number;
  /** True when an earlier task with the same idempotency key was returned. */
  readonly replayed: boolean;
  /**
   * True while no worker has claimed the task: always for a task stored now; for a replayed one,
   * until a worker claims it (a wake-up of the first request may never have been sent).
   */
  readonly queued: boolean;
}

export interface PendingTaskRef {
  readonly taskId: string;
  readonly tenantId: string;
}

/** Where a page of stale tasks ended, as the store wrote it: the next page begins after it. */
export interface StaleTasksCursor {
  readonly updatedAt: string;
  readonly seq: number;
}

export interface StaleTasksPage {
  readonly tasks: PendingTaskRef[];
  /** Null when this page was the last one. */
  readonly next: StaleTasksCursor | null;
}

/**
 * Accepted tasks are durable once `accept` answers, and a claim's attempt once `claim` does. The
 * worker's steps after the claim (`MemoryRepository.applyMany`, `complete`) may answer before they
 * are: a crash can undo the last of them, never an accepted task, and recovery then drives the
 * task again.
 */
export interface TaskRepository {
  /** Stores the tasks in one transaction, in order, each with a fresh position in the write order. */
  accept(tasks: readonly NewWriteTask[]): Promise<AcceptedTask[]>;
  find(tenantId: string, taskId: string): Promise<TaskSummary | null>;
  /**
   * Marks the tasks among these that are queued, or processing under a claim untouched for
   * `leaseMs` (its worker died), as processing; counts the attempt, and returns them. A claim
   * younger than that is another worker's still: its tasks are left out.
   */
  claim(taskIds: readonly string[], leaseMs: number): Promise<WriteTask[]>;
  /** Touches the tasks among these still processing: their claim's lease starts again. */
  renew(taskIds: readonly string[]): Promise<void>;
  complete(taskIds: readonly string[]): Promise<void>;
  fail(taskId: string, error: TaskError): Promise<void>;
  /**
   * Hands claimed tasks back as queued, to be claimed at once by the job's next try. Unless
   * `keepAttempt`, the attempt is not counted: they failed because a dependency was away, not
   * because of anything in them, so an outage never makes them poison.
   */
  release(taskIds: readonly string[], options?: { readonly keepAttempt?: boolean }): Promise<void>;
  /**
   * Hands every processing task back as queued, its attempt counted, and returns how many: at the
   * boot of the only worker there is, whose claims died with the process before it.
   */
  releaseAll(): Promise<number>;
  /**
   * Up to `limit` pending tasks untouched for `untouchedForMs` or longer, oldest first, after
   * `after` when given: what recovery drives again. Ages are the database's, which every process
   * shares: their own clocks may disagree.
   */
  findStale(untouchedForMs: number, limit: number, after?: StaleTasksCursor): Promise<StaleTasksPage>;
  countPending(): Promise<number>;
  /**
   * Deletes up to `limit` finished tasks (completed or failed) last changed before `before`,
   * oldest first, over every tenant, and returns how many. Tasks with an idempotency key stay.
   */
  forgetFinished(before: Date, limit: number): Promise<number>;
}

export type ApplyOutcome =
  /**
   * `formerUserIds`: users other than this version's whose vector of the memory may remain: the
   * one that held it before, and one a move took it from whose vector's removal may have failed
   * (kept through later writes until it moves again); for the same version applied again, that
   * one alone.
   */
  | { readonly applied: true; readonly formerUserIds: readonly string[] }
  | { readonly applied: false; readonly reason: 'superseded' | 'erased' };

export interface HistoryCursor {
  readonly createdAt: Date;
  readonly ordinal: number;
}

export interface HistoryQuery {
  readonly tenantId: string;
  readonly sessionId: string;
  readonly userId?: string;
  readonly limit: number;
  readonly after?: HistoryCursor;
}

export interface HistoryPage {
  readonly items: Memory[];
  readonly next: HistoryCursor | null;
}

export interface RemovedMemory {
  readonly id: string;
  readonly userId: string;
  /** Other users whose vector of it may remain: one a move took it from (see ApplyOutcome). */
  readonly formerUserIds: readonly string[];
}

export interface UserErasure {
  /** How many live memories it cleared. */
  readonly erased: number;
  /**
   * Memories it cleared from another user's row: a write of the erased user accepted and not yet
   * stored was to take them over. Their vectors are under that other user.
   */
  readonly othersHeld: readonly RemovedMemory[];
}

/** A (tenant, user) pair that has, or once had, memories. */
export interface MemoryOwner {
  readonly tenantId: string;
  readonly userId: string;
}

export interface MemoryRepository {
  /**
   * Writes this version of the memory unless a later write or delete of the same id, or an erasure
   * of its user, has already landed. Applying the same version twice is harmless.
   */
  apply(memory: EmbeddedMemory): Promise<ApplyOutcome>;
  /**
   * `apply` for many memories, a few transactions per tenant, in the given order (a later version
   * of an id after an earlier one): the outcomes are those of applying them one by one, in order.
   */
  applyMany(memories: readonly EmbeddedMemory[]): Promise<ApplyOutcome[]>;
  get(tenantId: string, id: string): Promise<Memory | null>;
  getMany(tenantId: string, ids: readonly string[]): Promise<Memory[]>;
  getEmbedded(tenantId: string, id: string): Promise<EmbeddedMemory | null>;
  findHistory(query: HistoryQuery): Promise<HistoryPage>;
  /** Deletes one memory (its text and vector are dropped); null when there is none. */
  remove(tenantId: string, id: string): Promise<RemovedMemory | null>;
  /**
   * Erases every memory the user holds as of now in the order writes were accepted (counting
   * writes accepted and not yet stored), and makes their writes accepted before now never land.
   */
  eraseUser(tenantId: string, userId: string): Promise<UserErasure>;
  /** Live memory ids of one user, for reconciliation with the vector store. */
  listIds(tenantId: string, userId: string): Promise<string[]>;
  /** Ids of up to `limit` live memories of the scope, in no given order. */
  idsInScope(scope: SearchScope, limit: number): Promise<string[]>;
  /** The memories of the scope holding any of the query's words, best BM25 match first. */
  findByWords(query: WordQuery): Promise<WordMatch[]>;
  /**
   * `idsInScope` and `findByWords` asked together: the store may read both in one exchange and
   * answer the ids as soon as they are read, before the word search is done.
   */
  searchLists(query: SearchListsQuery): SearchLists;
  /**
   * Live memories by id, in one round trip; unknown and removed ids are skipped. Vectors are read
   * only for `withVectors` (the others get null): they are most of a row's bytes.
   */
  getCandidates(tenantId: string, ids: readonly string[], withVectors: readonly string[]): Promise<CandidateMemory[]>;
  /**
   * For each memory, up to `span` turns before and after it in the history of its session and
   * user (by created_at, then first insertion), in one round trip.
   */
  findNeighbours(tenantId: string, ids: readonly string[], span: number): Promise<Neighbourhood[]>;
  /**
   * Every (tenant, user) with memories, deleted ones included, and every user a memory was moved
   * from (their vectors may linger), across tenants: for reconciliation only, never for a request.
   */
  listOwners(): Promise<MemoryOwner[]>;
  /**
   * Gives up to `limit` live memories without a vector sketch theirs (those written before
   * sketches were kept, or whose vector a process of an earlier version replaced), and returns how
   * many it sketched; one index probe when none lacks a sketch.
   */
  fillSketches(limit: number): Promise<number>;
}

export interface StoredApiKey {
  readonly record: ApiKeyRecord;
  readonly secretHash: Buffer;
}

export interface NewApiKey {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string | null;
  readonly secretHash: Buffer;
}

export interface ApiKeyRepository {
  create(key: NewApiKey): Promise<ApiKeyRecord>;
  /** Creates the key unless one with this id exists already. */
  ensure(key: NewApiKey): Promise<void>;
  /** An unrevoked key by id. */
  findActive(id: string): Promise<StoredApiKey | null>;
  list(): Promise<ApiKeyRecord[]>;
  /** True when a key was revoked by this call. */
  revoke(id: string): Promise<boolean>;
  touch(id: string, at: Date): Promise<void>;
}

/**
 * Memories, tasks and keys, in PostgreSQL or the embedded PGlite. Connectivity failures surface as
 * DependencyUnavailableError('postgres').
 */
export interface MetadataStore {
  readonly tasks: TaskRepository;
  readonly memories: MemoryRepository;
  readonly apiKeys: ApiKeyRepository;
  /** Applies pending migrations; safe when several processes start at once. */
  migrate(): Promise<void>;
  /** Records which model makes the vectors; throws EmbeddingModelMismatchError if another one did. */
  bindModel(model: EmbeddingModelInfo): Promise<void>;
  /** The model the first bindModel recorded; null before any. */
  boundModel(): Promise<EmbeddingModelInfo | null>;
  /**
   * This store's own id, made at random when first asked and the same for every process on it
   * after: it names what the processes of one deployment share elsewhere (their job queue).
   */
  identity(): Promise<string>;
  /**
   * Refreshes the planner's statistics and clears dead rows of the tables that grew since this was
   * last done, and returns their names; sketches some of the memories without a vector sketch
   * too (see fillSketches). Cheap when nothing is due; meant to run every few seconds to minutes in
   * one long-lived process per store.
   */
  keepFit(): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
