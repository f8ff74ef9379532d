import { Type, type Static } from 'typebox';
import { Identifier, MemoryView, METADATA_KEY_PATTERN, MetadataValue, Timestamp, MAX_METADATA_KEYS } from './common.js';

export const MAX_TOP_K = 100;
/** Most neighbouring turns a search returns on each side of a result. */
export const MAX_CONTEXT = 5;

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
  // Keys outside the pattern (`$where`, `__proto__`) are refused, not passed through unchecked.
  additionalProperties: false,
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
    min_score: Type.Optional(
      Type.Number({
        minimum: -1,
        maximum: 1,
        description: 'Leaves out memories whose `similarity` (cosine of meaning, -1 to 1) to the query is below this.',
      }),
    ),
    created_after: Type.Optional(Timestamp),
    created_before: Type.Optional(Timestamp),
    context: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_CONTEXT,
        default: 0,
        description: 'Turns of the same session to return before and after each result, in `context`.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SearchBody = Static<typeof SearchBody>;

export const ContextTurnView = Type.Intersect([
  MemoryView,
  Type.Object({ offset: Type.Integer({ description: 'Place relative to the result: -1 right before it, 1 right after.' }) }),
]);

export const SearchResultView = Type.Intersect([
  MemoryView,
  Type.Object({
    score: Type.Number({
      description: 'Fused relevance in [0, 1] (meaning and words), what results are ordered by: 1 is ranked first by both.',
    }),
    similarity: Type.Number({ description: 'Cosine similarity of meaning to the query, in [-1, 1]: what `min_score` filters on.' }),
    context: Type.Optional(Type.Array(ContextTurnView, { description: 'Neighbouring turns of the session, oldest first, when asked for.' })),
  }),
]);

export const SearchResponse = Type.Object({ results: Type.Array(SearchResultView) });
