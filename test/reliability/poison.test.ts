import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from '../support/engram-node.js';
import { EngramClient } from '../support/http-client.js';
import {
  answerLikeTheRealThing,
  startStandInEmbeddingServer,
  type StandInEmbeddingServer,
} from '../integration/embedding/stand-in-embedding-server.js';

const DIMENSIONS = 8;
const POISON = 'this text is refused by the model';

interface TaskView {
  readonly status: string;
  readonly error?: { readonly code: string; readonly message: string };
}

describe('writes the embedding service refuses (ENGRAM_EMBEDDER=openai)', () => {
  let embeddings: StandInEmbeddingServer;
  let node: TestNode;
  let client: EngramClient;
  const healthy = answerLikeTheRealThing(DIMENSIONS);
  const poisonRequests = () => embeddings.requests.filter((request) => JSON.stringify(request.body.input).includes(POISON)).length;

  before(async () => {
    embeddings = await startStandInEmbeddingServer(DIMENSIONS);
    embeddings.plan((request, inputs) =>
      inputs.some((input) => input.includes(POISON)) ? { status: 400, body: { error: { message: 'bad input' } } } : healthy(request, inputs),
    );
    node = await startTestNode('embedded', {
      ENGRAM_EMBEDDER: 'openai',
      ENGRAM_EMBED_URL: embeddings.url,
      ENGRAM_EMBED_MODEL: 'stand-in',
      ENGRAM_RECOVER_AFTER_MS: '1000',
    });
    client = new EngramClient(node.url, node.apiKey);
  });

  after(async () => {
    await node.stop();
    await embeddings.close();
  });

  it('fails an input the model rejects once, with a reason, and stores the rest of its batch', async () => {
    const texts = ['my cat is called Miso', POISON, 'I water the ferns on Sundays'];
    const { body } = await client.request<{ items: Array<{ task_id: string }> }>('POST', '/memory/batch', {
      items: texts.map((text) => ({ user_id: 'poison-user', session_id: 's', text })),
    });
    const statuses = await Promise.all(body.items.map((item) => client.waitForTask(item.task_id)));
    assert.deepEqual(statuses, ['completed', 'failed', 'completed']);
    const failed = await client.request<TaskView>('GET', `/tasks/${body.items[1]?.task_id ?? ''}`);
    assert.equal(failed.body.error?.code, 'embedder_rejected');
    assert.match(failed.body.error?.message ?? '', /status 400/);
    assert.doesNotMatch(failed.body.error?.message ?? '', /refused by the model/, 'the reason does not echo the text');

    const seen = poisonRequests();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(poisonRequests(), seen, 'a failed write is never tried again');
    assert.equal((await client.request<TaskView>('GET', `/tasks/${body.items[1]?.task_id ?? ''}`)).body.status, 'failed');
  });

  it('keeps writes waiting, never failed, while the service refuses Engram itself (401), and stores them once fixed', async () => {
    embeddings.plan(() => ({ status: 401, body: { error: { message: 'invalid api key' } } }));
    const tasks: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { status, body } = await client.request<{ task_id: string }>('POST', '/memory', {
        user_id: 'misconfigured-user',
        session_id: 's',
        text: `a memory written while the key is wrong ${i}`,
      });
      assert.equal(status, 202);
      tasks.push(body.task_id);
    }
    const search = await client.request<{ error: { code: string } }>('POST', '/memory/search', { user_id: 'misconfigured-user', query: 'key' });
    assert.equal(search.status, 503);
    assert.equal(search.body.error.code, 'embedder_misconfigured');

    // Long enough for several retries and recovery passes: more than maxAttempts claims would fail them.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    for (const task of tasks) {
      const { body } = await client.request<TaskView>('GET', `/tasks/${task}`);
      assert.notEqual(body.status, 'failed', 'a misconfiguration never fails an accepted write');
    }

    embeddings.plan(healthy);
    const statuses = await Promise.all(tasks.map((task) => client.waitForTask(task, 40_000)));
    assert.deepEqual(statuses, ['completed', 'completed', 'completed']);
  });

  it('keeps writes waiting, never failed, while the service answers 200 with no usable vectors, and stores them once it answers again', async () => {
    embeddings.plan(() => ({ status: 200, body: { data: [] } }));
    const { status, body } = await client.request<{ items: Array<{ task_id: string }> }>('POST', '/memory/batch', {
      items: ['the spare tyre is in the garage', 'my niece turns nine in May'].map((text) => ({ user_id: 'garbled-user', session_id: 's', text })),
    });
    assert.equal(status, 202);
    const search = await client.request<{ error: { code: string } }>('POST', '/memory/search', { user_id: 'garbled-user', query: 'tyre' });
    assert.equal(search.status, 503);
    assert.equal(search.body.error.code, 'embedder_bad_response');

    // Long enough for several retries: a write given up at once, or after its attempts, shows here.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    for (const item of body.items) {
      const { body: task } = await client.request<TaskView>('GET', `/tasks/${item.task_id}`);
      assert.notEqual(task.status, 'failed', 'an unusable answer never fails an accepted write');
    }

    embeddings.plan(healthy);
    const statuses = await Promise.all(body.items.map((item) => client.waitForTask(item.task_id, 40_000)));
    assert.deepEqual(statuses, ['completed', 'completed']);
  });
});
