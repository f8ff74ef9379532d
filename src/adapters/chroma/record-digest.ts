import { createHash } from 'node:crypto';
import { DIGEST_KEY } from './record-metadata.js';
import { parseGetAnswer } from './responses.js';
import type { StoredRecord } from './upsert-body.js';

/** A record with the digest of what it holds, kept in its metadata as well. */
export interface DigestedRecord extends StoredRecord {
  readonly digest: string;
}

/**
 * Adds to a record the digest of its vector and its metadata (keys in order, any digest it was
 * read with left out): two records hold the same thing when their digests agree, whichever process
 * wrote them, and a record copied from one collection to another keeps its digest.
 */
export function withDigest(record: StoredRecord): DigestedRecord {
  const metadata = new Map([...record.metadata].filter(([key]) => key !== DIGEST_KEY));
  const hash = createHash('sha1').update(new Uint8Array(record.embedding.buffer, record.embedding.byteOffset, record.embedding.byteLength));
  for (const key of [...metadata.keys()].sort()) hash.update(`\n${JSON.stringify(key)}:${JSON.stringify(metadata.get(key))}`);
  const digest = hash.digest('base64url').slice(0, 16);
  metadata.set(DIGEST_KEY, digest);
  return { id: record.id, embedding: record.embedding, metadata, digest };
}

/** The digest of each record a `get` with metadatas answered (undefined for a record written without one). */
export function digestsInAnswer(answer: unknown): Map<string, string | undefined> {
  const { ids, metadatas } = parseGetAnswer(answer);
  return new Map(ids.map((id, index) => {
    const digest = metadatas[index]?.[DIGEST_KEY];
    return [id, typeof digest === 'string' ? digest : undefined];
  }));
}
