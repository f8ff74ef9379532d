import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addThenReplace, type CollectionWrites } from '../../../src/adapters/chroma/add-then-replace.js';
import { withDigest, type DigestedRecord } from '../../../src/adapters/chroma/record-digest.js';

function record(id: string, direction: number): DigestedRecord {
  const embedding = new Float32Array(4);
  embedding[direction] = 1;
  return withDigest({ id, embedding, metadata: new Map([['owner', 'o']]) });
}

interface Requests {
  readonly added: string[][];
  readonly asked: string[][];
  readonly replaced: string[][];
  readonly turns: string[][];
}

/**
 * Runs addThenReplace against a collection that holds `held` (id → digest) and answers as Chroma
 * does: an add leaves a record it holds as it is. Each request is noted, and checked to run in the
 * turn of the records. `removedAfterAdd` are ids another writer removes right after the add.
 */
async function write(
  records: readonly DigestedRecord[],
  held: Map<string, string | undefined>,
  removedAfterAdd: readonly string[] = [],
): Promise<Requests> {
  const requests: Requests = { added: [], asked: [], replaced: [], turns: [] };
  let inTurn = false;
  const collection: CollectionWrites = {
    add: async (part) => {
      assert.equal(inTurn, true, 'the add runs in the turn of the records');
      requests.added.push(part.map((one) => one.id));
      for (const one of part) if (!held.has(one.id)) held.set(one.id, one.digest);
      for (const id of removedAfterAdd) held.delete(id);
    },
    digests: async (ids) => {
      assert.equal(inTurn, true, 'the digests are read in the turn of the records');
      requests.asked.push([...ids]);
      return new Map(ids.filter((id) => held.has(id)).map((id) => [id, held.get(id)]));
    },
    replace: async (part) => {
      assert.equal(inTurn, true, 'the replacements run in the turn of the records');
      assert.ok(part.every((one) => held.has(one.id)), 'a replacement holds no record the collection lacks');
      requests.replaced.push(part.map((one) => one.id));
      for (const one of part) held.set(one.id, one.digest);
    },
  };
  await addThenReplace(records, collection, async (ids, work) => {
    requests.turns.push([...ids]);
    inTurn = true;
    try {
      await work();
    } finally {
      inTurn = false;
    }
  });
  return requests;
}

describe('adding records, then replacing those the collection held otherwise', () => {
  it('adds new records in one request and replaces nothing', async () => {
    const held = new Map<string, string | undefined>();
    const requests = await write([record('a', 0), record('b', 1)], held);
    assert.deepEqual(requests, { added: [['a', 'b']], asked: [['a', 'b']], replaced: [], turns: [['a', 'b']] });
    assert.deepEqual([...held.keys()], ['a', 'b']);
  });

  it('replaces, alone, the records held with another digest or none, and leaves those held as they are', async () => {
    const same = record('same', 0);
    const changed = record('changed', 1);
    const held = new Map<string, string | undefined>([
      [same.id, same.digest],
      [changed.id, record('changed', 2).digest],
      ['unsigned', undefined],
    ]);
    const requests = await write([record('new', 3), changed, same, record('unsigned', 0)], held);
    assert.deepEqual(requests.added, [['new', 'changed', 'same', 'unsigned']]);
    assert.deepEqual(requests.replaced, [['changed', 'unsigned']]);
    assert.equal(held.get('changed'), changed.digest);
    assert.equal(held.get('new'), record('new', 3).digest);
  });

  it('leaves removed a record that another writer removed after the add', async () => {
    const held = new Map<string, string | undefined>([['old', record('old', 1).digest]]);
    const requests = await write([record('old', 2), record('new', 0)], held, ['old']);
    assert.deepEqual(requests.replaced, []);
    assert.equal(held.has('old'), false);
  });

  it('asks nothing and writes nothing for no records', async () => {
    assert.deepEqual(await write([], new Map()), { added: [], asked: [], replaced: [], turns: [] });
  });
});
