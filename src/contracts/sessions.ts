import { Type, type Static } from 'typebox';
import { Identifier, MemoryView } from './common.js';

export const HistoryParams = Type.Object({ id: Identifier });
export type HistoryParams = Static<typeof HistoryParams>;

export const HistoryQuery = Type.Object(
  {
    user_id: Type.Optional(Identifier),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: '1 to 1000, default 100' })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

export const HistoryResponse = Type.Object({
  session_id: Type.String(),
  items: Type.Array(MemoryView),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const UserParams = Type.Object({ user_id: Identifier });
export type UserParams = Static<typeof UserParams>;

export const EraseResponse = Type.Object({ user_id: Type.String(), deleted: Type.Integer() });
