import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeHeldApart } from '../../../src/adapters/chroma/held-apart.js';

interface Written {
  readonly id: string;
}

/**
 * Runs writeHeldApart against a collection that holds `held`, answering the requests it made, each
 * noted with the turn it ran in.
 */
async function writes(records: readonly Written[], held: readonly string[]): Promise<{ asked: string[][]; sent: string[][]; turns: string[][] }> {
  const asked: string[][] = [];
  const sent: string[][] = [];
  const turns: string[][] = [];
  let inTurn = false;
  await writeHeldApart(
    records,
    async (ids) => {
      assert.equal(inTurn, true, 'the lookup runs in the turn of the records');
      asked.push([...ids]);
      return held.filter((id) => ids.includes(id));
    },
    async (part) => {
      assert.equal(inTurn, true, 'the writes run in the turn of the records');
      sent.push(part.map((record) => record.id));
    },
    async (ids, work) => {
      turns.push([...ids]);
      inTurn = true;
      try {
        await work();
      } finally {
        inTurn = false;
      }
    },
  );
  return { asked, sent, turns };
}

describe('writing held records apart from new ones', () => {
  it('writes the records the collection holds first, then the new ones, in two requests', async () => {
    const { asked, sent } = await writes([{ id: 'new-1' }, { id: 'old-1' }, { id: 'new-2' }, { id: 'old-2' }], ['old-1', 'old-2', 'elsewhere']);
    assert.deepEqual(asked, [['new-1', 'old-1', 'new-2', 'old-2']]);
    assert.deepEqual(sent, [['old-1', 'old-2'], ['new-1', 'new-2']]);
  });

  it('looks up and writes in one turn of all the records', async () => {
    const { turns } = await writes([{ id: 'new-1' }, { id: 'old-1' }], ['old-1']);
    assert.deepEqual(turns, [['new-1', 'old-1']]);
  });

  it('makes one request when the records are all new, or all held', async () => {
    assert.deepEqual((await writes([{ id: 'a' }, { id: 'b' }], [])).sent, [['a', 'b']]);
    assert.deepEqual((await writes([{ id: 'a' }, { id: 'b' }], ['a', 'b'])).sent, [['a', 'b']]);
  });

  it('asks nothing and writes nothing for no records', async () => {
    assert.deepEqual(await writes([], ['a']), { asked: [], sent: [], turns: [] });
  });
});
