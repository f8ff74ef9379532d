import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EngramClient } from '../support/http-client.js';
import type { TestNode } from '../support/engram-node.js';

interface MemoryBody {
  id: string;
  text: string;
  user_id: string;
  session_id: string;
  role: string;
  created_at: string;
  metadata: Record<string, unknown>;
  score?: number;
  similarity?: number;
  context?: (MemoryBody & { offset: number })[];
}
interface SearchBody {
  results: MemoryBody[];
}
interface HistoryBody {
  session_id: string;
  items: MemoryBody[];
  next_cursor: string | null;
}
interface Accepted {
  id: string;
  task_id: string;
  status: string;
}
interface ErrorBody {
  error: { code: string; message: string };
}

export interface ApiSuiteOptions {
  readonly start: () => Promise<TestNode>;
  /** Creates a key for another tenant, when the mode lets a test reach the key store. */
  readonly createTenantKey?: (node: TestNode, tenant: string) => Promise<string>;
}

/** What a client of Engram can rely on through HTTP, whatever the deployment. */
export function describeApi(mode: string, options: ApiSuiteOptions): void {
  describe(`the HTTP API (${mode})`, () => {
    let node: TestNode;
    let client: EngramClient;

    before(async () => {
      node = await options.start();
      client = new EngramClient(node.url, node.apiKey);
    });
    after(async () => {
      await node.stop();
    });

    async function remember(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Accepted> {
      const response = await client.request<Accepted>('POST', '/memory', body, headers);
      assert.equal(response.status, 202, JSON.stringify(response.body));
      return response.body;
    }

    async function rememberAll(bodies: Record<string, unknown>[]): Promise<Accepted[]> {
      const accepted = [];
      for (const body of bodies) accepted.push(await remember(body));
      for (const { task_id } of accepted) assert.equal(await client.waitForTask(task_id), 'completed');
      return accepted;
    }

    async function search(body: Record<string, unknown>): Promise<MemoryBody[]> {
      const response = await client.request<SearchBody>('POST', '/memory/search', body);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body.results;
    }

    it('is alive and ready without a key, and refuses tenant routes without a valid one', async () => {
      assert.equal((await client.withKey(null).request('GET', '/healthz')).status, 200);
      const ready = await client.withKey(null).request<{ status: string; dependencies: Record<string, string> }>('GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'ready');
      assert.deepEqual(Object.values(ready.body.dependencies), ['up', 'up', 'up']);
      const anonymous = await client.withKey(null).request<ErrorBody>('POST', '/memory/search', { query: 'x', user_id: 'u' });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body.error.code, 'unauthenticated');
      const wrongKey = await client.withKey('not-a-key').request<ErrorBody>('GET', '/memory/abc');
      assert.equal(wrongKey.status, 401);
    });

    it("finds the memory that answers a question first, and never another user's", async () => {
      const alice = `alice-${randomUUID()}`;
      const bob = `bob-${randomUUID()}`;
      await rememberAll([
        { user_id: alice, session_id: 's1', text: 'I adopted a golden retriever named Biscuit' },
        { user_id: alice, session_id: 's1', text: 'I work as a nurse at the city hospital' },
        { user_id: alice, session_id: 's1', text: 'My favourite food is sushi' },
        { user_id: alice, session_id: 's2', text: 'I am planning a trip to Portugal in May' },
        { user_id: alice, session_id: 's2', text: 'My brother plays the cello in an orchestra' },
        { user_id: bob, session_id: 's1', text: 'I have a cat called Whiskers and a dog named Rex' },
        { user_id: bob, session_id: 's1', text: 'I am learning to play the guitar' },
        { user_id: bob, session_id: 's2', text: 'I live in a small flat in Berlin' },
        { user_id: bob, session_id: 's2', text: 'I drink too much coffee' },
      ]);
      const results = await search({ query: "What is my dog's name?", user_id: alice });
      assert.equal(results[0]?.text, 'I adopted a golden retriever named Biscuit');
      assert.ok(results.every((result) => result.user_id === alice));
      assert.ok(results.every((result, index) => index === 0 || (results[index - 1]?.score ?? 0) >= (result.score ?? 0)));
      const bobs = await search({ query: "What is my dog's name?", user_id: bob, top_k: 100 });
      assert.equal(bobs.length, 4);
      assert.ok(bobs.every((result) => result.user_id === bob));
      const sessionOnly = await search({ query: 'travel plans', user_id: alice, session_id: 's2' });
      assert.equal(sessionOnly.length, 2);
      assert.ok(sessionOnly.every((result) => result.session_id === 's2'));
    });

    it('lists a session oldest first, a page at a time', async () => {
      const user = `user-${randomUUID()}`;
      const session = `session-${randomUUID()}`;
      const start = Date.parse('2024-05-01T10:00:00Z');
      await rememberAll(
        [4, 1, 3, 0, 2].map((minute) => ({
          user_id: user,
          session_id: session,
          text: `turn number ${minute}`,
          created_at: new Date(start + minute * 60_000).toISOString(),
        })),
      );
      const first = await client.request<HistoryBody>('GET', `/sessions/${session}/history?user_id=${user}&limit=3`);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body.items.map((item) => item.text), ['turn number 0', 'turn number 1', 'turn number 2']);
      assert.ok(first.body.next_cursor !== null);
      const second = await client.request<HistoryBody>(
        'GET',
        `/sessions/${session}/history?user_id=${user}&limit=3&cursor=${first.body.next_cursor}`,
      );
      assert.deepEqual(second.body.items.map((item) => item.text), ['turn number 3', 'turn number 4']);
      assert.equal(second.body.next_cursor, null);
    });

    it('keeps one copy when the same id is written again, holding the latest text', async () => {
      const user = `user-${randomUUID()}`;
      const id = `fact-${randomUUID()}`;
      await rememberAll([{ id, user_id: user, session_id: 's', text: 'My car is a red Toyota' }]);
      await rememberAll([{ id, user_id: user, session_id: 's', text: 'My car is a blue Volvo' }]);
      const history = await client.request<HistoryBody>('GET', `/sessions/s/history?user_id=${user}`);
      assert.deepEqual(history.body.items.map((item) => item.text), ['My car is a blue Volvo']);
      const results = await search({ query: 'what car do I drive', user_id: user });
      assert.deepEqual(results.map((result) => result.id), [id]);
      assert.equal((await client.request<MemoryBody>('GET', `/memory/${id}`)).body.text, 'My car is a blue Volvo');
    });

    it('returns the same task when a write is retried with its Idempotency-Key', async () => {
      const user = `user-${randomUUID()}`;
      const key = randomUUID();
      const body = { user_id: user, session_id: 's', text: 'I was born in Lisbon' };
      const first = await remember(body, { 'idempotency-key': key });
      const retry = await remember(body, { 'idempotency-key': key });
      assert.deepEqual(retry, first);
      await client.waitForTask(first.task_id);
      const history = await client.request<HistoryBody>('GET', `/sessions/s/history?user_id=${user}`);
      assert.equal(history.body.items.length, 1);
    });

    it('refuses an Idempotency-Key sent again with another write, or with another batch, storing nothing', async () => {
      const user = `user-${randomUUID()}`;
      const key = randomUUID();
      const first = await remember({ user_id: user, session_id: 'reused', text: 'My gym is on Elm Street' }, { 'idempotency-key': key });
      const other = await client.request<ErrorBody>(
        'POST',
        '/memory',
        { user_id: user, session_id: 'reused', text: 'My gym moved to Oak Street' },
        { 'idempotency-key': key },
      );
      assert.equal(other.status, 400);
      assert.equal(other.body.error.code, 'idempotency_key_reused');
      const batchKey = randomUUID();
      const items = [0, 1].map((index) => ({ user_id: user, session_id: 'reused', text: `reused batch fact ${index}` }));
      const batch = await client.request<{ items: { task_id: string }[] }>('POST', '/memory/batch', { items }, { 'idempotency-key': batchKey });
      assert.equal(batch.status, 202);
      const longer = await client.request<ErrorBody>(
        'POST',
        '/memory/batch',
        { items: [...items, { user_id: user, session_id: 'reused', text: 'reused batch fact 2' }] },
        { 'idempotency-key': batchKey },
      );
      assert.equal(longer.status, 400);
      assert.equal(longer.body.error.code, 'idempotency_key_reused');
      for (const taskId of [first.task_id, ...batch.body.items.map((item) => item.task_id)]) {
        assert.equal(await client.waitForTask(taskId), 'completed');
      }
      const history = await client.request<HistoryBody>('GET', `/sessions/reused/history?user_id=${user}`);
      assert.deepEqual(history.body.items.map((item) => item.text).sort(), ['My gym is on Elm Street', 'reused batch fact 0', 'reused batch fact 1'].sort());
    });

    it('keeps a batch\'s Idempotency-Key apart from any single write\'s key', async () => {
      const user = `user-${randomUUID()}`;
      const key = randomUUID();
      const items = [0, 1].map((index) => ({ user_id: user, session_id: 'keys', text: `batch fact ${index}` }));
      const batch = await client.request<{ items: { id: string; task_id: string }[] }>('POST', '/memory/batch', { items }, { 'idempotency-key': key });
      const retried = await client.request<{ items: { id: string; task_id: string }[] }>('POST', '/memory/batch', { items }, { 'idempotency-key': key });
      assert.deepEqual(retried.body, batch.body);
      const single = await remember({ user_id: user, session_id: 'keys', text: 'a single fact' }, { 'idempotency-key': `${key}#1` });
      assert.ok(batch.body.items.every((item) => item.id !== single.id && item.task_id !== single.task_id));
      assert.equal(await client.waitForTask(single.task_id), 'completed');
      for (const item of batch.body.items) assert.equal(await client.waitForTask(item.task_id), 'completed');
      const history = await client.request<HistoryBody>('GET', `/sessions/keys/history?user_id=${user}`);
      assert.deepEqual(history.body.items.map((item) => item.text).sort(), ['a single fact', 'batch fact 0', 'batch fact 1']);
    });

    it('accepts a batch and reports every task', async () => {
      const user = `user-${randomUUID()}`;
      const items = Array.from({ length: 50 }, (_, index) => ({ user_id: user, session_id: 'batch', text: `batch fact ${index}` }));
      const response = await client.request<{ items: { id: string; task_id: string }[] }>('POST', '/memory/batch', { items });
      assert.equal(response.status, 202);
      assert.equal(response.body.items.length, 50);
      for (const item of response.body.items) assert.equal(await client.waitForTask(item.task_id), 'completed');
      const history = await client.request<HistoryBody>('GET', `/sessions/batch/history?user_id=${user}&limit=100`);
      assert.equal(history.body.items.length, 50);
    });

    it('filters on metadata with equality, $in and ranges, and on dates', async () => {
      const user = `user-${randomUUID()}`;
      await rememberAll([
        { user_id: user, session_id: 's', text: 'Went hiking in the Alps', metadata: { topic: 'travel', year: 2019 }, created_at: '2019-07-01T00:00:00Z' },
        { user_id: user, session_id: 's', text: 'Went hiking in Norway', metadata: { topic: 'travel', year: 2023 }, created_at: '2023-07-01T00:00:00Z' },
        { user_id: user, session_id: 's', text: 'Started a hiking club', metadata: { topic: 'hobby', year: 2023 }, created_at: '2023-09-01T00:00:00Z' },
      ]);
      const travel = await search({ query: 'hiking', user_id: user, filters: { topic: 'travel' } });
      assert.deepEqual(travel.map((r) => r.metadata['topic']).sort(), ['travel', 'travel']);
      const recent = await search({ query: 'hiking', user_id: user, filters: { year: { $gte: 2020 } } });
      assert.equal(recent.length, 2);
      const either = await search({ query: 'hiking', user_id: user, filters: { topic: { $in: ['hobby'] } } });
      assert.deepEqual(either.map((r) => r.text), ['Started a hiking club']);
      const after2020 = await search({ query: 'hiking', user_id: user, created_after: '2020-01-01T00:00:00Z' });
      assert.equal(after2020.length, 2);
      const strict = await search({ query: 'hiking', user_id: user, min_score: 0.99 });
      assert.equal(strict.length, 0);
    });

    it('finds a memory by an exact rare word, fusing meaning and words into a score in [0, 1]', async () => {
      const user = `user-${randomUUID()}`;
      await rememberAll([
        { user_id: user, session_id: 's1', text: 'The wifi network at the cabin is called Quokkanet' },
        { user_id: user, session_id: 's2', text: 'We love the cabin by the lake in summer' },
        { user_id: user, session_id: 's3', text: 'The internet at home is slow' },
      ]);
      const results = await search({ query: 'quokkanet', user_id: user });
      assert.equal(results[0]?.text, 'The wifi network at the cabin is called Quokkanet');
      for (const result of results) {
        assert.ok((result.score ?? -1) >= 0 && (result.score ?? 2) <= 1);
        assert.ok(typeof result.similarity === 'number' && result.similarity >= -1 && result.similarity <= 1);
      }
    });

    it('applies min_score to the similarity of meaning, not to the fused rank', async () => {
      const user = `user-${randomUUID()}`;
      await rememberAll([
        { user_id: user, session_id: 's', text: 'I keep bees on the roof of my building' },
        { user_id: user, session_id: 's', text: 'Quarterly tax forms are due in April' },
      ]);
      const all = await search({ query: 'beekeeping hobby', user_id: user, min_score: -1 });
      assert.equal(all.length, 2);
      const floor = Math.max(...all.map((result) => result.similarity ?? 0));
      const kept = await search({ query: 'beekeeping hobby', user_id: user, min_score: floor });
      assert.ok(kept.length >= 1);
      assert.ok(kept.every((result) => (result.similarity ?? -2) >= floor));
      assert.deepEqual(await search({ query: 'beekeeping hobby', user_id: user, min_score: 1 }), []);
    });

    it('returns the neighbouring turns of each result in order, within its session only', async () => {
      const user = `user-${randomUUID()}`;
      const start = Date.parse('2024-06-01T10:00:00Z');
      const turns = ['How was your weekend?', 'I went sailing on the fjord', 'Did you catch anything?', 'A small cod', 'Nice!'];
      await rememberAll([
        ...turns.map((text, minute) => ({ user_id: user, session_id: 'chat', text, created_at: new Date(start + minute * 60_000).toISOString() })),
        { user_id: user, session_id: 'other', text: 'Unrelated note', created_at: new Date(start + 90_000).toISOString() },
      ]);
      const [hit] = await search({ query: 'sailing fjord', user_id: user, session_id: 'chat', top_k: 1, context: 2 });
      assert.equal(hit?.text, 'I went sailing on the fjord');
      assert.deepEqual(
        hit?.context?.map((turn) => [turn.offset, turn.text]),
        [
          [-1, 'How was your weekend?'],
          [1, 'Did you catch anything?'],
          [2, 'A small cod'],
        ],
      );
      const [plain] = await search({ query: 'sailing fjord', user_id: user, top_k: 1 });
      assert.equal(plain?.context, undefined);
      const tooWide = await client.request<ErrorBody>('POST', '/memory/search', { query: 'x', user_id: user, context: 6 });
      assert.equal(tooWide.status, 400);
    });

    it('forgets a deleted memory in get and search, and a whole erased user', async () => {
      const user = `user-${randomUUID()}`;
      const [kept, deleted] = await rememberAll([
        { user_id: user, session_id: 's', text: 'I play tennis on Sundays' },
        { user_id: user, session_id: 's', text: 'My PIN hint is my first pet' },
      ]);
      assert.ok(kept !== undefined && deleted !== undefined);
      // As a client whose every request says JSON sends it: no body is no invalid JSON.
      assert.equal((await client.request('DELETE', `/memory/${deleted.id}`, undefined, { 'content-type': 'application/json' })).status, 204);
      const gone = await client.request('GET', `/memory/${deleted.id}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.headers.get('cache-control'), 'no-store');
      assert.equal((await client.request('DELETE', `/memory/${deleted.id}`)).status, 404);
      const results = await search({ query: 'first pet PIN hint', user_id: user });
      assert.deepEqual(results.map((r) => r.id), [kept.id]);
      const erased = await client.request<{ deleted: number }>('DELETE', `/users/${user}`);
      assert.equal(erased.status, 200);
      assert.equal(erased.body.deleted, 1);
      assert.deepEqual(await search({ query: 'tennis', user_id: user }), []);
      assert.equal((await client.request('GET', `/memory/${kept.id}`)).status, 404);
    });

    it('refuses invalid input with a 4xx and a stable code, storing nothing', async () => {
      const user = `user-${randomUUID()}`;
      const missingText = await client.request<ErrorBody>('POST', '/memory', { user_id: user, session_id: 's' });
      assert.equal(missingText.status, 400);
      assert.equal(missingText.body.error.code, 'invalid_input');
      const huge = await client.request<ErrorBody>('POST', '/memory', { user_id: user, session_id: 's', text: 'x'.repeat(2_000_000) });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, 'payload_too_large');
      const malformed = await client.request<ErrorBody>('POST', '/memory', '{"user_id": ');
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.error.code, 'invalid_json');
      const polluted = await client.request<ErrorBody>('POST', '/memory', `{"user_id":"${user}","session_id":"s","text":"hi","__proto__":{"admin":true}}`);
      assert.equal(polluted.status, 400);
      const surrogate = await client.request<ErrorBody>('POST', '/memory', `{"user_id":"${user}","session_id":"s","text":"bad \\ud800 text"}`);
      assert.equal(surrogate.status, 400);
      assert.equal(surrogate.body.error.code, 'invalid_input');
      const wrongType = await client.request<ErrorBody>('POST', '/memory/search', { query: 42, user_id: user });
      assert.equal(wrongType.status, 400);
      const unknownField = await client.request<ErrorBody>('POST', '/memory', { user_id: user, session_id: 's', text: 'hi', colour: 'red' });
      assert.equal(unknownField.status, 400);
      assert.match(unknownField.body.error.message, /body must not have the field "colour"/);
      const badKey = await client.request<ErrorBody>('POST', '/memory', { user_id: user, session_id: 's', text: 'hi', metadata: { 'first name': 'Ann' } });
      assert.match(badKey.body.error.message, /body\/metadata must not have the field "first name"/);
      const badRole = await client.request<ErrorBody>('POST', '/memory', { user_id: user, session_id: 's', text: 'hi', role: 'USER' });
      assert.equal(badRole.status, 400);
      assert.equal(badRole.body.error.message, 'body/role must be one of "user", "assistant", "system", "tool"');
      const operatorKey = await client.request<ErrorBody>('POST', '/memory/search', { query: 'x', user_id: user, filters: { $where: 'sleep(1)' } });
      assert.equal(operatorKey.status, 400);
      const badTopK = await client.request<ErrorBody>('POST', '/memory/search', { query: 'x', user_id: user, top_k: 101 });
      assert.equal(badTopK.status, 400);
      const badTask = await client.request<ErrorBody>('GET', '/tasks/not-a-uuid');
      assert.equal(badTask.status, 400);
      const unknownTask = await client.request<ErrorBody>('GET', `/tasks/${randomUUID()}`);
      assert.equal(unknownTask.status, 404);
      const history = await client.request<HistoryBody>('GET', `/sessions/s/history?user_id=${user}`);
      assert.deepEqual(history.body.items, []);
    });

    it('redacts identifiers before anything is stored, and keeps names', async () => {
      const user = `user-${randomUUID()}`;
      const [accepted] = await rememberAll([
        { user_id: user, session_id: 's', text: 'My sister Clara emails me at clara.jones@example.com' },
      ]);
      const stored = await client.request<MemoryBody>('GET', `/memory/${accepted?.id}`);
      assert.equal(stored.body.text, 'My sister Clara emails me at [EMAIL]');
    });

    it('publishes its OpenAPI document and docs, and its metrics to a key', async () => {
      const openapi = await client.withKey(null).request<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json');
      assert.equal(openapi.status, 200);
      assert.ok(openapi.body.openapi.startsWith('3.'));
      assert.ok('/memory/search' in openapi.body.paths);
      assert.equal((await client.withKey(null).request('GET', '/docs')).status < 400, true);
      // Served over plain HTTP, the page must not have its scripts asked for over HTTPS.
      const page = await client.withKey(null).request('GET', '/docs/static/index.html');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src/);
      assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /upgrade-insecure-requests/);
      const metrics = await client.request<{ raw: string }>('GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body.raw, /engram_http_request_duration_seconds/);
      assert.equal(metrics.headers.get('cache-control'), 'no-store');
      const anonymous = await client.withKey(null).request<ErrorBody>('GET', '/metrics');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body.error.code, 'unauthenticated');
    });

    if (options.createTenantKey !== undefined) {
      const createTenantKey = options.createTenantKey;
      it("never lets one tenant read, find, change or erase another tenant's data", async () => {
        const otherKey = await createTenantKey(node, `tenant-${randomUUID()}`);
        const other = client.withKey(otherKey);
        const user = `shared-user-${randomUUID()}`;
        const [mine] = await rememberAll([{ id: `same-${randomUUID()}`, user_id: user, session_id: 's', text: 'Our wifi password hint is the dog' }]);
        assert.ok(mine !== undefined);
        assert.equal((await other.request('GET', `/memory/${mine.id}`)).status, 404);
        assert.equal((await other.request('DELETE', `/memory/${mine.id}`)).status, 404);
        assert.equal((await other.request('GET', `/tasks/${mine.task_id}`)).status, 404);
        const found = await other.request<SearchBody>('POST', '/memory/search', { query: 'wifi password', user_id: user });
        assert.deepEqual(found.body.results, []);
        const history = await other.request<HistoryBody>('GET', `/sessions/s/history?user_id=${user}`);
        assert.deepEqual(history.body.items, []);
        const erase = await other.request<{ deleted: number }>('DELETE', `/users/${user}`);
        assert.equal(erase.body.deleted, 0);
        const overwrite = await other.request<Accepted>('POST', '/memory', { id: mine.id, user_id: user, session_id: 's', text: 'overwritten' });
        await other.waitForTask(overwrite.body.task_id);
        assert.equal((await client.request<MemoryBody>('GET', `/memory/${mine.id}`)).body.text, 'Our wifi password hint is the dog');
        assert.equal((await search({ query: 'wifi password', user_id: user })).length, 1);
      });
    }
  });
}
