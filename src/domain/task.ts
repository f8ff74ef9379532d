import type { MemoryDraft } from './memory.js';

export const TASK_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskError {
  readonly code: string;
  readonly message: string;
}

/**
 * A durable record of one accepted write. It is stored before the client gets its 202 and is the
 * source of truth for recovery: the queue only carries task ids, so losing the queue loses nothing.
 */
export interface WriteTask {
  readonly taskId: string;
  readonly tenantId: string;
  readonly memoryId: string;
  readonly status: TaskStatus;
  /** Position in the global write order: a later write of the same memory id always wins. */
  readonly seq: number;
  readonly attempts: number;
  readonly error: TaskError | null;
  /** The memory to write; cleared once the write completed, so text is not kept twice. */
  readonly draft: MemoryDraft | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface TaskSummary {
  readonly taskId: string;
  readonly memoryId: string;
  readonly status: TaskStatus;
  readonly error: TaskError | null;
}
