import type { WriteJob } from '../../ports/job-queue.js';

/** What a BullMQ job carries: task ids only, never user text. */
export interface WriteJobPayload {
  readonly taskIds: string[];
}

export const WRITE_JOB_NAME = 'write';

export function toPayload(job: WriteJob): WriteJobPayload {
  return { taskIds: [...job.taskIds] };
}

/** Reads a payload back; anything malformed yields no task ids rather than a crash loop. */
export function fromPayload(data: unknown): WriteJob {
  const taskIds = (data as { taskIds?: unknown } | null)?.taskIds;
  if (!Array.isArray(taskIds)) return { taskIds: [] };
  return { taskIds: taskIds.filter((id): id is string => typeof id === 'string') };
}

/**
 * The id that makes a second enqueue of the same job a no-op: its first task id, since a task
 * belongs to one job when created and recovery re-enqueues a pending task on its own.
 */
export function dedupeIdOf(job: WriteJob): string | undefined {
  return job.taskIds[0];
}
