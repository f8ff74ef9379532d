import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeHeldApart } from '../../../src/adapters/chroma/held-apart.js';

interface Written {
  readonly id: string;
}

/** Runs writeHeldApart against a collection that holds `held`, answering the requests it made. */
async function writes(records: readonly Written[], held: readonly string[]): Promise<{ asked: string[][]; sent: string[][] }> {
  const asked: string[][] = [];
  const sent: string[][] = [];
  await writeHeldApart(
    records,
    async (ids) => {
      asked.push([...ids]);
      return held.filter((id) => ids.includes(id));
    },
    async (part) => {
      sent.push(part.map((record) => record.id));
    },
  );
  return { asked, sent };
}

describe('writing held records apart from new ones', () => {
  it('writes the records the collection holds first, then the new ones, in two requests', async () => {
    const { asked, sent } = await writes([{ id: 'new-1' }, { id: 'old-1' }, { id: 'new-2' }, { id: 'old-2' }], ['old-1', 'old-2', 'elsewhere']);
    assert.deepEqual(asked, [['new-1', 'old-1', 'new-2', 'old-2']]);
    assert.deepEqual(sent, [['old-1', 'old-2'], ['new-1', 'new-2']]);
  });

  it('makes one request when the records are all new, or all held', async () => {
    assert.deepEqual((await writes([{ id: 'a' }, { id: 'b' }], [])).sent, [['a', 'b']]);
    assert.deepEqual((await writes([{ id: 'a' }, { id: 'b' }], ['a', 'b'])).sent, [['a', 'b']]);
  });

  it('asks nothing and writes nothing for no records', async () => {
    assert.deepEqual(await writes([], ['a']), { asked: [], sent: [] });
  });
});
