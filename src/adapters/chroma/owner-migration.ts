import type { MetadataValue } from '../../domain/memory.js';
import type { ChromaHttp } from './chroma-http.js';
import { parseGetAnswer } from './responses.js';
import { encodeEmbedding, encodeStoredRecords, type StoredRecord } from './upsert-body.js';

/** Where an owner's records are read from and written to during a migration. */
export interface MigrationEnds {
  readonly http: ChromaHttp;
  /** Reads the owner's records from the source: `get` bodies are sent to this path. */
  readonly sourcePath: string;
  readonly ownerWhere: Readonly<Record<string, unknown>>;
  /** Runs a request on the target collection's path (upsert or delete). */
  readonly onTarget: (suffix: string, body: unknown) => Promise<void>;
  /** Records per request. */
  readonly pageSize: number;
  /** Copy passes at most; writers that know the new route keep the target current anyway. */
  readonly maxPasses: number;
}

/**
 * Copies one owner's records from a bucket to their dedicated collection, idempotently. Writers
 * that have not seen the migration yet may still change the source while it runs, so the copy
 * repeats until two reads of the source agree: then every change made before the last read is in
 * the target, and every later one is written there by its writer, which confirms the route after
 * writing. Records gone from the source are removed from the target.
 */
export async function copyOwnerRecords(ends: MigrationEnds): Promise<number> {
  let previous = new Map<string, string>();
  let current = await readSource(ends);
  for (let pass = 0; pass < ends.maxPasses; pass += 1) {
    const changed = [...current.records.values()].filter(
      (record) => previous.get(record.id) !== current.fingerprints.get(record.id),
    );
    const vanished = [...previous.keys()].filter((id) => !current.records.has(id));
    if (pass > 0 && changed.length === 0 && vanished.length === 0) break;
    for (let start = 0; start < changed.length; start += ends.pageSize) {
      await ends.onTarget('upsert', encodeStoredRecords(changed.slice(start, start + ends.pageSize)));
    }
    for (let start = 0; start < vanished.length; start += ends.pageSize) {
      await ends.onTarget('delete', { ids: vanished.slice(start, start + ends.pageSize) });
    }
    previous = current.fingerprints;
    current = await readSource(ends);
  }
  return current.records.size;
}

interface SourceState {
  readonly records: Map<string, StoredRecord>;
  /** id → the record's content as text, to tell whether it changed between two reads. */
  readonly fingerprints: Map<string, string>;
}

async function readSource(ends: MigrationEnds): Promise<SourceState> {
  const records = new Map<string, StoredRecord>();
  const fingerprints = new Map<string, string>();
  for (let offset = 0; ; offset += ends.pageSize) {
    const answer = await ends.http.send({
      method: 'POST',
      path: `${ends.sourcePath}/get`,
      body: { where: ends.ownerWhere, include: ['embeddings', 'metadatas'], limit: ends.pageSize, offset },
    });
    const page = parseGetAnswer(answer);
    page.ids.forEach((id, index) => {
      const embedding = page.embeddings[index] ?? new Float32Array();
      const metadata = toMetadataMap(page.metadatas[index] ?? {});
      records.set(id, { id, embedding, metadata });
      fingerprints.set(id, `${encodeEmbedding(embedding)}|${JSON.stringify([...metadata])}`);
    });
    if (page.ids.length < ends.pageSize) return { records, fingerprints };
  }
}

function toMetadataMap(metadata: Readonly<Record<string, unknown>>): Map<string, MetadataValue> {
  const map = new Map<string, MetadataValue>();
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') map.set(key, value);
  }
  return map;
}
