import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorBody } from '../../contracts/common.js';
import {
  AcceptedWriteView,
  BatchAcceptedView,
  BatchWrite,
  MemoryIdParams,
  MemoryView,
  MemoryWrite,
} from '../../contracts/memory.js';
import { ValidationError } from '../../domain/errors.js';
import { parseStorableTime } from '../../domain/times.js';
import type { WriteRequest } from '../../services/write-request.js';
import type { ApiDeps } from '../deps.js';
import { principalOf } from '../principal.js';
import { memoryView } from '../views.js';

const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

function toWriteRequest(body: MemoryWrite, field = 'created_at'): WriteRequest {
  return {
    userId: body.user_id,
    sessionId: body.session_id,
    text: body.text,
    ...(body.id === undefined ? {} : { id: body.id }),
    ...(body.role === undefined ? {} : { role: body.role }),
    ...(body.metadata === undefined ? {} : { metadata: body.metadata }),
    ...(body.created_at === undefined ? {} : { createdAt: parseStorableTime(body.created_at, field) }),
  };
}

function idempotencyKey(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return null;
  if (!IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new ValidationError('Idempotency-Key must be 1-200 visible ASCII characters');
  }
  return value;
}

export function memoryRoutes(deps: ApiDeps, batchBodyLimit: number): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/memory',
      {
        schema: {
          summary: 'Remember one chat turn or fact',
          description:
            'Accepted writes are durable: the 202 comes once the write is recorded. The same `id` again replaces the memory; without an `id`, an `Idempotency-Key` header makes retries return the same task.',
          tags: ['memory'],
          body: MemoryWrite,
          response: { 202: AcceptedWriteView, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 503: ErrorBody },
        },
      },
      async (request, reply) => {
        const [accepted] = await deps.writes.accept(
          principalOf(request),
          [toWriteRequest(request.body)],
          idempotencyKey(request.headers['idempotency-key']),
        );
        deps.metrics.writesAccepted.inc();
        if (accepted === undefined) throw new Error('a write was accepted without a task');
        return reply.status(202).send({ id: accepted.id, task_id: accepted.taskId, status: 'queued' as const });
      },
    );

    app.post(
      '/memory/batch',
      {
        bodyLimit: batchBodyLimit,
        schema: {
          summary: 'Remember up to 1,000 memories at once',
          tags: ['memory'],
          body: BatchWrite,
          response: { 202: BatchAcceptedView, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 503: ErrorBody },
        },
      },
      async (request, reply) => {
        const accepted = await deps.writes.accept(
          principalOf(request),
          request.body.items.map((item, index) => toWriteRequest(item, `items/${index}/created_at`)),
          idempotencyKey(request.headers['idempotency-key']),
        );
        deps.metrics.writesAccepted.inc(accepted.length);
        return reply.status(202).send({ items: accepted.map((item) => ({ id: item.id, task_id: item.taskId })) });
      },
    );

    app.get(
      '/memory/:id',
      {
        schema: {
          summary: 'Read one memory',
          tags: ['memory'],
          params: MemoryIdParams,
          response: { 200: MemoryView, 401: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => memoryView(await deps.reader.get(principalOf(request), request.params.id)),
    );

    app.delete(
      '/memory/:id',
      {
        schema: {
          summary: 'Delete one memory from every store',
          description:
            'A memory accepted (202) but not yet stored is deleted too: its write, and any accepted before the delete, never lands. 404 when the id is neither stored nor in flight.',
          tags: ['memory'],
          params: MemoryIdParams,
          response: { 204: Type.Null(), 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
        },
      },
      async (request, reply) => {
        await deps.eraser.deleteMemory(principalOf(request), request.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}
