import { Type, type Static } from 'typebox';
import { Identifier, MemoryView, METADATA_KEY_PATTERN, MetadataValue, Timestamp, MAX_METADATA_KEYS } from './common.js';

export const MAX_TOP_K = 100;

const Operators = Type.Object(
  {
    $eq: Type.Optional(MetadataValue),
    $ne: Type.Optional(MetadataValue),
    $gt: Type.Optional(Type.Number()),
    $gte: Type.Optional(Type.Number()),
    $lt: Type.Optional(Type.Number()),
    $lte: Type.Optional(Type.Number()),
    $in: Type.Optional(Type.Array(MetadataValue, { minItems: 1, maxItems: 100 })),
    $nin: Type.Optional(Type.Array(MetadataValue, { minItems: 1, maxItems: 100 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const MetadataFilters = Type.Record(Type.String({ pattern: METADATA_KEY_PATTERN }), Type.Union([MetadataValue, Operators]), {
  maxProperties: MAX_METADATA_KEYS,
  description: 'All conditions must hold: `{"topic": "pets", "year": {"$gte": 2020}, "tag": {"$in": ["a", "b"]}}`.',
});
export type MetadataFilters = Static<typeof MetadataFilters>;

export const SearchBody = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 4_000, pattern: '\\S' }),
    user_id: Identifier,
    session_id: Type.Optional(Identifier),
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOP_K, default: 10 })),
    filters: Type.Optional(MetadataFilters),
    min_score: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
    created_after: Type.Optional(Timestamp),
    created_before: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type SearchBody = Static<typeof SearchBody>;

export const SearchResultView = Type.Intersect([MemoryView, Type.Object({ score: Type.Number() })]);

export const SearchResponse = Type.Object({ results: Type.Array(SearchResultView) });
