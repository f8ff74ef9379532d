import type { Principal } from '../domain/api-key.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { Memory } from '../domain/memory.js';
import type { TaskSummary } from '../domain/task.js';
import { isStorableTime } from '../domain/times.js';
import type { HistoryCursor, MemoryRepository, TaskRepository } from '../ports/metadata-store.js';

export interface HistoryRequest {
  readonly sessionId: string;
  readonly userId?: string;
  readonly limit: number;
  /** The opaque `next_cursor` of the previous page. */
  readonly cursor?: string;
}

export interface HistoryResult {
  readonly items: Memory[];
  readonly nextCursor: string | null;
}

function encodeCursor(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.getTime(), cursor.ordinal])).toString('base64url');
}

function decodeCursor(token: string): HistoryCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2 && decoded.every((part) => Number.isSafeInteger(part))) {
      const createdAt = new Date(decoded[0] as number);
      if (isStorableTime(createdAt)) return { createdAt, ordinal: decoded[1] as number };
    }
  } catch {
    // reported below
  }
  throw new ValidationError('cursor is not a next_cursor returned by this endpoint');
}

/** Reads by id and by session, and the status of accepted writes; all scoped to the caller's tenant. */
export class MemoryReader {
  constructor(private readonly deps: { readonly memories: MemoryRepository; readonly tasks: TaskRepository }) {}

  async get(principal: Principal, id: string): Promise<Memory> {
    const memory = await this.deps.memories.get(principal.tenantId, id);
    if (memory === null) throw new NotFoundError('memory');
    return memory;
  }

  async history(principal: Principal, request: HistoryRequest): Promise<HistoryResult> {
    const page = await this.deps.memories.findHistory({
      tenantId: principal.tenantId,
      sessionId: request.sessionId,
      limit: request.limit,
      ...(request.userId === undefined ? {} : { userId: request.userId }),
      ...(request.cursor === undefined ? {} : { after: decodeCursor(request.cursor) }),
    });
    return { items: page.items, nextCursor: page.next === null ? null : encodeCursor(page.next) };
  }

  async task(principal: Principal, taskId: string): Promise<TaskSummary> {
    const task = await this.deps.tasks.find(principal.tenantId, taskId);
    if (task === null) throw new NotFoundError('task');
    return task;
  }
}
