import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody } from '../../contracts/common.js';
import { TaskParams, TaskView } from '../../contracts/memory.js';
import type { ApiDeps } from '../deps.js';
import { principalOf } from '../principal.js';

export function taskRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/tasks/:task_id',
      {
        schema: {
          summary: 'The status of an accepted write',
          description:
            'A finished task (completed or failed) is kept for the retention (ENGRAM_TASK_RETENTION_HOURS, 7 days by default), then answers 404; a task sent with an `Idempotency-Key` is kept.',
          tags: ['memory'],
          params: TaskParams,
          response: { 200: TaskView, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => {
        const task = await deps.reader.task(principalOf(request), request.params.task_id);
        return {
          task_id: task.taskId,
          status: task.status,
          memory_id: task.memoryId,
          ...(task.error === null ? {} : { error: task.error }),
        };
      },
    );
  };
}
