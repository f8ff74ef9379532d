import { Type, type Static } from 'typebox';
import { TASK_STATUSES } from '../domain/task.js';
import { Identifier, MAX_TEXT_LENGTH, Metadata, MemoryView, Role, Timestamp } from './common.js';

export const MAX_BATCH_ITEMS = 1_000;

export const MemoryWrite = Type.Object(
  {
    id: Type.Optional(Identifier),
    user_id: Identifier,
    session_id: Identifier,
    text: Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH, pattern: '\\S' }),
    role: Type.Optional(Role),
    metadata: Type.Optional(Metadata),
    created_at: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type MemoryWrite = Static<typeof MemoryWrite>;

export const AcceptedWriteView = Type.Object({
  id: Type.String(),
  task_id: Type.String(),
  status: Type.Literal('queued'),
});

export const BatchWrite = Type.Object(
  { items: Type.Array(MemoryWrite, { minItems: 1, maxItems: MAX_BATCH_ITEMS }) },
  { additionalProperties: false },
);
export type BatchWrite = Static<typeof BatchWrite>;

export const BatchAcceptedView = Type.Object({
  items: Type.Array(Type.Object({ id: Type.String(), task_id: Type.String() })),
});

export const MemoryIdParams = Type.Object({ id: Identifier });
export type MemoryIdParams = Static<typeof MemoryIdParams>;

export const TaskParams = Type.Object({ task_id: Type.String({ format: 'uuid' }) });
export type TaskParams = Static<typeof TaskParams>;

export const TaskView = Type.Object({
  task_id: Type.String(),
  status: Type.Union(
    [Type.Literal('queued'), Type.Literal('processing'), Type.Literal('completed'), Type.Literal('failed')],
    { description: TASK_STATUSES.join(' | ') },
  ),
  memory_id: Type.String(),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});

export { MemoryView };
