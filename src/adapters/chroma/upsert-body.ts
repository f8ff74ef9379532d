import type { MetadataValue } from '../../domain/memory.js';
import { float32ToBase64 } from '../../support/float32-bytes.js';
import { floatText } from './float-json.js';

/** A record as Chroma keeps it: what a migration reads from one collection and writes to another. */
export interface StoredRecord {
  readonly id: string;
  readonly embedding: Float32Array;
  readonly metadata: ReadonlyMap<string, MetadataValue>;
}

/**
 * The JSON body of a Chroma add or upsert, written by hand for two reasons:
 * - every number goes out as a JSON float (`3.0`, see float-json.ts), as in a query's filter;
 * - embeddings go out as base64 little-endian float32, exact and a third of the size of decimals.
 */
export function encodeStoredRecords(records: readonly StoredRecord[]): string {
  const ids = JSON.stringify(records.map((record) => record.id));
  const embeddings = JSON.stringify(records.map((record) => float32ToBase64(record.embedding)));
  const metadatas = records.map((record) => encodeMetadata(record.metadata)).join(',');
  return `{"ids":${ids},"embeddings":${embeddings},"metadatas":[${metadatas}]}`;
}

function encodeMetadata(metadata: ReadonlyMap<string, MetadataValue>): string {
  const fields: string[] = [];
  for (const [key, value] of metadata) fields.push(`${JSON.stringify(key)}:${encodeValue(key, value)}`);
  return `{${fields.join(',')}}`;
}

function encodeValue(key: string, value: MetadataValue): string {
  return typeof value === 'number' ? floatText(value, `metadata "${key}"`) : JSON.stringify(value);
}
