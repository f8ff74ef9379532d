import { Type, type Static } from 'typebox';
import { IDENTIFIER_PATTERN } from '../domain/ids.js';
import { ROLES } from '../domain/memory.js';

/** Longest memory text accepted, in characters. */
export const MAX_TEXT_LENGTH = 32_000;
export const MAX_METADATA_KEYS = 32;
export const MAX_METADATA_STRING_LENGTH = 1_000;
export const METADATA_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$';

export const Identifier = Type.String({ pattern: IDENTIFIER_PATTERN, maxLength: 128 });
export const Role = Type.Union([Type.Literal('user'), Type.Literal('assistant'), Type.Literal('system'), Type.Literal('tool')], {
  description: `One of ${ROLES.join(', ')}; default user.`,
});
export const MetadataValue = Type.Union([
  Type.String({ maxLength: MAX_METADATA_STRING_LENGTH }),
  Type.Number(),
  Type.Boolean(),
]);
export const Metadata = Type.Record(Type.String({ pattern: METADATA_KEY_PATTERN }), MetadataValue, {
  // A record with a key pattern only checks keys that match it: without this, a key such as
  // `$ne` or `__proto__` would pass with any value at all.
  additionalProperties: false,
  maxProperties: MAX_METADATA_KEYS,
  description: `Flat key/value pairs (string, number or boolean), at most ${MAX_METADATA_KEYS} keys.`,
});
export const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
});

export const MemoryView = Type.Object({
  id: Type.String(),
  text: Type.String(),
  user_id: Type.String(),
  session_id: Type.String(),
  role: Role,
  created_at: Type.String(),
  metadata: Type.Record(Type.String(), MetadataValue),
});
export type MemoryView = Static<typeof MemoryView>;
