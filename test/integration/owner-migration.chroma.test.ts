import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromaHttp, type ChromaRequest } from '../../src/adapters/chroma/chroma-http.js';
import { copyOwnerRecords, MigrationUnsettledError } from '../../src/adapters/chroma/owner-migration.js';
import { RecordTurns } from '../../src/adapters/chroma/record-turns.js';
import { parseGetAnswer } from '../../src/adapters/chroma/responses.js';
import { encodeStoredRecords } from '../../src/adapters/chroma/upsert-body.js';
import { direction } from '../contracts/vector-store.contract.js';
import { startTestChroma, type TestChroma } from '../support/chroma-server.js';

const COLLECTIONS = '/tenants/default_tenant/databases/default_database/collections';
const OWNER = 'owner-moving';

/** A vector of its own for each `step`. */
function along(step: number): Float32Array {
  return direction(1, step, 0.5);
}

/** A vector as text, to compare what two collections hold. */
function vectorText(vector: Float32Array): string {
  return Array.from(vector, (value) => value.toFixed(4)).join(',');
}

/** An upsert body of records of `owner`, as a bucket holds them. */
function stored(id: string, owner: string, step: number, count = 1): string {
  const metadata = new Map<string, string | number | boolean>([['owner', owner], ['session_id', 's1'], ['created_at', 1_700_000_000 + step], ['role', 'user']]);
  return encodeStoredRecords(Array.from({ length: count }, (_, index) => ({ id: count === 1 ? id : `${id}-${index}`, embedding: along(step + index), metadata })));
}

describe('copyOwnerRecords', () => {
  let chroma: TestChroma;
  let http: ChromaHttp;
  let serial = 0;
  const turns = new RecordTurns();

  const createCollection = async (): Promise<string> => {
    serial += 1;
    const created = await http.send({ method: 'POST', path: COLLECTIONS, body: { name: `migration-${serial}-${Date.now()}`, configuration: { hnsw: { space: 'cosine' } } } });
    return `${COLLECTIONS}/${String((created as { id: string }).id)}`;
  };
  const write = (path: string, body: string): Promise<unknown> => http.send({ method: 'POST', path: `${path}/upsert`, body });
  /** id → the vector held, for the records matching `where` (all when null). */
  const held = async (path: string, where: Record<string, unknown> | null): Promise<Map<string, string>> => {
    const page = parseGetAnswer(await http.send({ method: 'POST', path: `${path}/get`, body: { ...(where === null ? {} : { where }), include: ['embeddings'] } }));
    return new Map(page.ids.map((id, index) => [id, vectorText(page.embeddings[index] ?? new Float32Array())]));
  };

  /** Chroma as a copy sees it, with writers acting after each of its reads of `source` (numbered from 1). */
  const writersAfterReads = (source: string, act: (read: number) => Promise<void>): { http: Pick<ChromaHttp, 'send'>; reads: () => number } => {
    let reads = 0;
    return {
      http: {
        send: async (request: ChromaRequest) => {
          const answer = await http.send(request);
          if (request.path === `${source}/get`) await act((reads += 1));
          return answer;
        },
      },
      reads: () => reads,
    };
  };
  const copy = (
    through: Pick<ChromaHttp, 'send'>,
    source: string,
    target: string,
    maxPasses: number,
    stillMigrating: () => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<number | null> =>
    copyOwnerRecords({
      http: through,
      sourcePath: source,
      ownerWhere: { owner: OWNER },
      targetPath: target,
      inTurn: (ids, work) => turns.run(target, ids, work),
      pageSize: 100,
      maxPasses,
      stillMigrating,
    });

  before(async () => {
    chroma = await startTestChroma();
    http = new ChromaHttp({ url: chroma.url, requestTimeoutMs: 10_000 });
  });
  after(async () => {
    http.close();
    await chroma.stop();
  });

  it('moves the records of an owner whose writers keep adding more in two reads', async () => {
    const source = await createCollection();
    const target = await createCollection();
    for (let index = 0; index < 30; index += 1) await write(source, stored(`old-${index}`, OWNER, index));
    await write(source, stored('other-0', 'owner-staying', 1));

    let added = 0;
    // After every read of the copy, the owner's writers add records to both sides, as they do
    // once the route says the owner is migrating. After the first, other owners' writes to the
    // bucket make Chroma compact its log, which hands metadata back in another key order.
    const chromaSeen = writersAfterReads(source, async (read) => {
      if (read === 1) await write(source, stored('other', 'owner-staying', 200, 1_200));
      for (let index = 0; index < 5; index += 1) {
        const body = stored(`new-${(added += 1)}`, OWNER, 100 + added);
        await write(source, body);
        await write(target, body);
      }
    });

    const copied = await copy(chromaSeen.http, source, target, 10);

    assert.equal(chromaSeen.reads(), 2);
    const wanted = await held(source, { owner: OWNER });
    assert.equal(wanted.size, 40);
    assert.deepEqual(await held(target, null), wanted);
    // The count is the last read's: the five records added after it are not in it.
    assert.equal(copied, 35);
  });

  it('undoes its own stale writes, and copies a record whose writer has not reached the target yet', async () => {
    const source = await createCollection();
    const target = await createCollection();
    for (let index = 0; index < 10; index += 1) await write(source, stored(`old-${index}`, OWNER, index));

    // Between the copy's first read and its writes, writers change one record it read and remove
    // another on both sides, and add one to the bucket whose write to the target is under way.
    const chromaSeen = writersAfterReads(source, async (read) => {
      if (read > 1) return;
      const changed = stored('old-0', OWNER, 50);
      await write(source, changed);
      await write(target, changed);
      for (const path of [source, target]) await http.send({ method: 'POST', path: `${path}/delete`, body: { ids: ['old-1'] } });
      await write(source, stored('in-flight', OWNER, 51));
    });

    await copy(chromaSeen.http, source, target, 10);

    // One read to copy, one to find what to undo and bring, one that finds nothing more to do.
    assert.equal(chromaSeen.reads(), 3);
    const copied = await held(target, null);
    assert.deepEqual(copied, await held(source, { owner: OWNER }));
    assert.equal(copied.get('old-0'), vectorText(along(50)));
    assert.equal(copied.has('old-1'), false);
    assert.equal(copied.has('in-flight'), true);
  });

  it("lets a writer of a record that the copy is writing wait until the copy's page is written", async () => {
    const source = await createCollection();
    const target = await createCollection();
    for (let index = 0; index < 3; index += 1) await write(source, stored(`old-${index}`, OWNER, index));

    // A writer of old-0 comes right after the copy's add, before it reads back what the target holds.
    const writes: string[] = [];
    let writer: Promise<void> | null = null;
    const through: Pick<ChromaHttp, 'send'> = {
      send: async (request: ChromaRequest) => {
        if (request.path === `${target}/add` || request.path === `${target}/upsert`) writes.push('copy');
        const answer = await http.send(request);
        if (request.path === `${target}/add` && writer === null) {
          writer = turns.run(target, ['old-0'], async () => {
            writes.push('writer');
            await write(target, stored('old-0', OWNER, 70));
          });
        }
        return answer;
      },
    };

    await copy(through, source, target, 10);
    await writer;

    assert.deepEqual(writes, ['copy', 'writer']);
    assert.equal((await held(target, null)).get('old-0'), vectorText(along(70)));
  });

  it('repeats while records it copied keep changing, and gives up at its bound, its last writes unchecked', async () => {
    const source = await createCollection();
    const target = await createCollection();
    for (let index = 0; index < 3; index += 1) await write(source, stored(`kept-${index}`, OWNER, index));

    // A writer that has not seen the migration yet changes a copied record in the bucket alone.
    const chromaSeen = writersAfterReads(source, async (read) => {
      await write(source, stored('kept-0', OWNER, 3 + read));
    });

    await assert.rejects(copy(chromaSeen.http, source, target, 3), MigrationUnsettledError);

    // Each pass applied the change its read saw, and the read after it found another: the move
    // does not end on writes that no read checked (the bucket stays the owner's truth).
    assert.equal(chromaSeen.reads(), 4);
    const copied = await held(target, null);
    assert.equal(copied.get('kept-0'), vectorText(along(5)));
    assert.equal((await held(source, null)).get('kept-0'), vectorText(along(7)));
    for (const id of ['kept-1', 'kept-2']) assert.equal(copied.get(id), (await held(source, null)).get(id));
  });

  it('stops before a pass once the route no longer says migrating, deleting nothing the bucket lost', async () => {
    const source = await createCollection();
    const target = await createCollection();
    await write(source, stored('kept', OWNER, 0, 3));
    // While the first pass copies, another move of the same owner ends (the route says so from
    // the next pass on) and clears the bucket of them.
    const chromaSeen = writersAfterReads(source, async (read) => {
      if (read === 1) await http.send({ method: 'POST', path: `${source}/delete`, body: { where: { owner: OWNER } } });
    });
    let passes = 0;
    const stillMigrating = (): Promise<boolean> => Promise.resolve((passes += 1) === 1);

    assert.equal(await copy(chromaSeen.http, source, target, 5, stillMigrating), null);

    assert.equal(chromaSeen.reads(), 2);
    assert.deepEqual([...(await held(target, null)).keys()].sort(), ['kept-0', 'kept-1', 'kept-2']);
  });
});
