import { VectorStoreError } from './errors.js';

/** The parts of Chroma's answers that Engram reads, checked before use. */

export interface CollectionInfo {
  readonly id: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface QueryAnswer {
  readonly ids: readonly string[];
  readonly distances: readonly number[];
}

export function parseCollection(body: unknown): CollectionInfo {
  const record = asRecord(body, 'collection');
  if (typeof record['id'] !== 'string') throw malformed('collection');
  const metadata = record['metadata'];
  return { id: record['id'], metadata: metadata === null || metadata === undefined ? {} : asRecord(metadata, 'collection') };
}

/** The first (only) query's matches. */
export function parseQueryAnswer(body: unknown): QueryAnswer {
  const record = asRecord(body, 'query');
  const ids = firstRow(record['ids']);
  const distances = firstRow(record['distances']);
  if (!ids.every((id) => typeof id === 'string') || !distances.every((d) => typeof d === 'number')) {
    throw malformed('query');
  }
  if (ids.length !== distances.length) throw malformed('query');
  return { ids: ids as string[], distances: distances as number[] };
}

export function parseIds(body: unknown): string[] {
  const ids = asRecord(body, 'get')['ids'];
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw malformed('get');
  return ids as string[];
}

/** What a `get` with embeddings and metadatas answers, row by row. */
export interface GetAnswer {
  readonly ids: readonly string[];
  readonly embeddings: readonly Float32Array[];
  readonly metadatas: readonly Readonly<Record<string, unknown>>[];
}

export function parseGetAnswer(body: unknown): GetAnswer {
  const record = asRecord(body, 'get');
  const ids = parseIds(body);
  const embeddings = record['embeddings'] ?? [];
  const metadatas = record['metadatas'] ?? [];
  if (!Array.isArray(embeddings) || !Array.isArray(metadatas)) throw malformed('get');
  return {
    ids,
    embeddings: embeddings.map((row: unknown) => {
      if (!Array.isArray(row) || !row.every((value) => typeof value === 'number')) throw malformed('get');
      return Float32Array.from(row as number[]);
    }),
    metadatas: metadatas.map((row: unknown) => (row === null ? {} : asRecord(row, 'get'))),
  };
}

function firstRow(rows: unknown): unknown[] {
  if (!Array.isArray(rows)) throw malformed('query');
  const first: unknown = rows[0];
  if (first === undefined) return [];
  if (!Array.isArray(first)) throw malformed('query');
  return first;
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(what);
  return value as Record<string, unknown>;
}

function malformed(what: string): VectorStoreError {
  return new VectorStoreError(`chroma answered a ${what} request in an unexpected shape`);
}
