import { digestsInAnswer, type DigestedRecord } from './record-digest.js';
import { encodeStoredRecords } from './upsert-body.js';

/** The requests addThenReplace makes of one collection. */
export interface CollectionWrites {
  /** Adds the records the collection lacks; Chroma leaves a record it holds as it is. */
  add(records: readonly DigestedRecord[]): Promise<void>;
  /** The digest each of `ids` that the collection holds has there (undefined: written without one). */
  digests(ids: readonly string[]): Promise<ReadonlyMap<string, string | undefined>>;
  /** Writes records that the collection holds over what it holds. */
  replace(records: readonly DigestedRecord[]): Promise<void>;
}

/** Sends a request to one of a collection's endpoints and answers Chroma's reply. */
export type SendToCollection = (endpoint: 'add' | 'upsert' | 'get', body: unknown) => Promise<unknown>;

/** The requests of addThenReplace as Chroma takes them, each sent by `send` to the collection. */
export function collectionWrites(send: SendToCollection): CollectionWrites {
  return {
    add: async (records) => {
      await send('add', encodeStoredRecords(records));
    },
    digests: async (ids) => digestsInAnswer(await send('get', { ids, include: ['metadatas'] })),
    replace: async (records) => {
      await send('upsert', encodeStoredRecords(records));
    },
  };
}

/** Runs `work` once no other write of this process holds any of the records `ids` (see RecordTurns). */
export type InTurn = (ids: readonly string[], work: () => Promise<void>) => Promise<void>;

/**
 * Writes records so that no request both adds a record and moves one that the collection holds.
 *
 * Chroma 1.0 can lose a new record from its vector index when the same request also moves a
 * record it holds to another vector: the new record stays in the collection and `get` returns it,
 * but no query finds it again, whatever `n_results`. Seen on a fresh collection of 120 vectors,
 * with one upsert that added a record where an existing one was and moved that one away: the new
 * record was lost in 12 of 300 tries with the vectors along one curve, 10 of 1,200 with them spread
 * around one direction (12 of 600 in a later run); in two requests, the moved record
 * first, 0 of 300 and 1 of 2,400. Unchanged records written again beside new ones lost none in 300.
 *
 * So every record is first added: an `add` leaves the records the collection holds untouched,
 * whoever wrote them, and the same request as above sent as an `add` lost no record in 1,200
 * tries. The digests the collection holds are then read back, and the records whose digest is not
 * ours (held before, or written by another process in between) are replaced in a request of their
 * own, where every record is one the collection holds. A record that is gone by then was removed
 * after our add, and stays removed. In this process the three requests run in the records' turn
 * (`inTurn`, RecordTurns), so that its own writes of a record follow one another.
 *
 * Moves and removals can still cut a record off its neighbours now and then (Chroma's index does
 * not repair itself); that is Chroma's to mend.
 */
export async function addThenReplace(records: readonly DigestedRecord[], collection: CollectionWrites, inTurn: InTurn): Promise<void> {
  if (records.length === 0) return;
  const ids = records.map((record) => record.id);
  await inTurn(ids, async () => {
    await collection.add(records);
    const held = await collection.digests(ids);
    const differing = records.filter((record) => held.has(record.id) && held.get(record.id) !== record.digest);
    if (differing.length > 0) await collection.replace(differing);
  });
}
