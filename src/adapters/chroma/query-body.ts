import { VectorStoreError } from './errors.js';
import { jsonWithFloats } from './float-json.js';
import { float32ArrayText } from './float32-text.js';
import type { Where } from './where-clause.js';

export interface QueryBody {
  readonly vector: Float32Array;
  readonly nResults: number;
  /** Record ids the query is limited to. */
  readonly ids?: readonly string[];
  readonly where?: Where;
}

/**
 * The body of a Chroma query for one vector's distances. The vector's numbers are written with
 * nine significant digits (see float32-text.ts): Chroma reads back exactly the 32-bit floats of
 * the vector, for a fifth of the event loop's time that `join` or `JSON.stringify` take. Chroma's
 * query takes no base64 vector, unlike its upsert.
 */
export function encodeQueryBody(query: QueryBody): string {
  for (const value of query.vector) {
    if (!Number.isFinite(value)) throw new VectorStoreError('a query vector holds a value that is not a finite number');
  }
  const fields = [`"query_embeddings":[[${float32ArrayText(query.vector)}]]`, `"n_results":${Math.floor(query.nResults)}`, `"include":["distances"]`];
  if (query.ids !== undefined) fields.push(`"ids":${JSON.stringify(query.ids)}`);
  // Numbers as floats, as records hold them (see float-json.ts): `$in: [4, 4.5]` is one list.
  if (query.where !== undefined) fields.push(`"where":${jsonWithFloats(query.where, 'a metadata filter value')}`);
  return `{${fields.join(',')}}`;
}
