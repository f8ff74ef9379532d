import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestNode, type TestNode } from '../support/engram-node.js';
import { EngramClient } from '../support/http-client.js';
import { rawHttpAnswer } from '../support/raw-http.js';

const RUNS = 60;
const SEED_USER = 'seed-user';
const SEED_SESSION = 'seed-session';

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const BODY_ROUTES = ['/memory', '/memory/batch', '/memory/search'] as const;

const injections = fc.constantFrom(
  "' OR '1'='1",
  "1; DROP TABLE memories; --",
  "seed-user' --",
  '{"$ne": null}',
  '$where',
  '{"$gt": ""}',
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '..\\..\\windows',
  '%00',
  '*',
  '%',
  '_',
  '<script>alert(1)</script>',
);

/** Raw JSON texts whose keys try to reach an object's prototype. */
const poisonedKeys = fc.constantFrom('__proto__', 'constructor', 'prototype');

describe('hostile input', () => {
  let node: TestNode;
  let client: EngramClient;
  let baseline: string;
  /** Memories this file's own requests had accepted: the only writes a snapshot may show. */
  let acceptedHere = 0;

  const send = async (method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await fetch(`${node.url}${path}`, {
      method,
      headers: { 'x-api-key': node.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    if (response.status === 202) acceptedHere += path === '/memory/batch' ? ((JSON.parse(text) as { items: unknown[] }).items.length) : 1;
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // kept as text
    }
    return { status: response.status, body: parsed };
  };

  /** Never a 5xx; a refusal is a 4xx with a stable error code. */
  const assertRefusedCleanly = (answer: Answer, what: string): void => {
    assert.ok(answer.status < 500, `${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    if (answer.status >= 400) {
      const code = (answer.body as { error?: { code?: unknown } } | null)?.error?.code;
      assert.equal(typeof code, 'string', `${what} answered ${answer.status} without error.code`);
    }
  };

  const assertRefused = (answer: Answer, what: string): void => {
    assert.ok(answer.status >= 400 && answer.status < 500, `${what} was not refused: ${answer.status}`);
    assertRefusedCleanly(answer, what);
  };

  /** What a client can see of the seeded user: refused requests must not change it. */
  const snapshot = async (): Promise<string> => {
    const history = await client.request('GET', `/sessions/${SEED_SESSION}/history?user_id=${SEED_USER}`);
    const search = await client.request('POST', '/memory/search', { user_id: SEED_USER, query: 'tomatoes' });
    const writes = await send('GET', '/metrics');
    const accepted = /engram_writes_accepted_total (\d+)/.exec(String(writes.body))?.[1];
    return JSON.stringify({ history: history.body, search: search.body, accepted: Number(accepted) - acceptedHere });
  };

  before(async () => {
    node = await startTestNode('embedded', { ENGRAM_PII: 'off', ENGRAM_RATE_LIMIT_PER_MINUTE: '1000000' });
    client = new EngramClient(node.url, node.apiKey);
    const { body } = await client.request<{ task_id: string }>('POST', '/memory', {
      id: 'seed-memory',
      user_id: SEED_USER,
      session_id: SEED_SESSION,
      text: 'I grow tomatoes on the balcony',
      metadata: { topic: 'garden' },
    });
    await client.waitForTask(body.task_id);
    baseline = await snapshot();
  });

  after(() => node.stop());

  it('refuses text that is not JSON with 400 invalid_json', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES), fc.string({ maxLength: 200 }), async (route, text) => {
        fc.pre(!isJson(text));
        const answer = await send('POST', route, text);
        assertRefused(answer, `${route} with ${JSON.stringify(text)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('never answers arbitrary JSON with a 5xx, and refuses it with a code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES), fc.jsonValue({ maxDepth: 4 }), async (route, value) => {
        assertRefusedCleanly(await send('POST', route, JSON.stringify(value)), `${route} with ${JSON.stringify(value)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses a field of the wrong type, including NoSQL operators where an id belongs', async () => {
    const wrong = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.constantFrom({ $ne: null }, { $gt: '' }, { $where: '1' }, { $in: ['a'] }),
    );
    const field = fc.constantFrom('id', 'user_id', 'session_id', 'text', 'role', 'metadata', 'created_at');
    await fc.assert(
      fc.asyncProperty(field, wrong, async (name, value) => {
        fc.pre(!(name === 'metadata' && value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).every((key) => !key.startsWith('$'))));
        const body = { user_id: 'u', session_id: 's', text: 'hello', [name]: value };
        assertRefused(await send('POST', '/memory', JSON.stringify(body)), `${name}=${JSON.stringify(value)}`);
        const search = { user_id: 'u', query: 'hello', [name === 'text' ? 'query' : name]: value };
        assertRefusedCleanly(await send('POST', '/memory/search', JSON.stringify(search)), `search ${name}=${JSON.stringify(value)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses keys that reach for a prototype, at any depth', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BODY_ROUTES),
        poisonedKeys,
        fc.integer({ min: 0, max: 3 }),
        async (route, key, depth) => {
          // Built as text: JSON.stringify would drop a literal __proto__ key.
          let inner = `{"${key}": {"polluted": true}}`;
          for (let level = 0; level < depth; level++) inner = `{"nested": ${inner}}`;
          const text =
            route === '/memory/batch'
              ? `{"items": [{"user_id": "u", "session_id": "s", "text": "t", "metadata": ${inner}}]}`
              : route === '/memory'
                ? `{"user_id": "u", "session_id": "s", "text": "t", "metadata": ${inner}, "${key}": {"x": 1}}`
                : `{"user_id": "u", "query": "q", "filters": ${inner}}`;
          assertRefused(await send('POST', route, text), `${route} with ${text}`);
          assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype was polluted');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('refuses lone surrogates and NUL characters in any string', async () => {
    const bad = fc.constantFrom('\\ud800', '\\udfff', '\\u0000', 'a\\ud83dz');
    const field = fc.constantFrom('user_id', 'session_id', 'text', 'metadata-key', 'metadata-value');
    await fc.assert(
      fc.asyncProperty(bad, field, async (escape, name) => {
        const value = `"x${escape}y"`;
        const text =
          name === 'metadata-key'
            ? `{"user_id": "u", "session_id": "s", "text": "t", "metadata": {${value}: 1}}`
            : name === 'metadata-value'
              ? `{"user_id": "u", "session_id": "s", "text": "t", "metadata": {"k": ${value}}}`
              : `{"user_id": "u", "session_id": "s", "text": "t", "${name}": ${value}}`.replace(`"${name}": "${name === 'text' ? 't' : name === 'user_id' ? 'u' : 's'}", `, '');
        assertRefused(await send('POST', '/memory', text), text);
        assertRefused(await send('POST', '/memory/search', `{"user_id": "u", "query": ${value}}`), `search ${value}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers injection strings in path ids and queries with a clean 4xx or an empty result', async () => {
    const id = fc.oneof(injections, fc.string({ minLength: 1, maxLength: 40 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }));
    await fc.assert(
      fc.asyncProperty(id, async (raw) => {
        const segment = encodeURIComponent(raw);
        for (const [method, path] of [
          ['GET', `/memory/${segment}`],
          ['DELETE', `/memory/${segment}`],
          ['GET', `/tasks/${segment}`],
          ['GET', `/sessions/${segment}/history?user_id=${segment}&cursor=${segment}`],
          ['GET', `/sessions/${SEED_SESSION}/history?user_id=${segment}&limit=${segment}`],
        ] as const) {
          assertRefusedCleanly(await send(method, path), `${method} ${path}`);
        }
        if (raw !== SEED_USER) assertRefusedCleanly(await send('DELETE', `/users/${segment}`), `DELETE /users/${segment}`);
        // fetch itself refuses control characters in a header, so those are left out here.
        const key = raw.replace(/[^\x20-\x7e]/g, '') || 'k';
        assertRefusedCleanly(
          await send('POST', '/memory', JSON.stringify({ user_id: 'u', session_id: 's', text: 't' }), { 'idempotency-key': key }),
          `Idempotency-Key ${JSON.stringify(key)}`,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses deeply nested and huge bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES), fc.integer({ min: 17, max: 20_000 }), async (route, depth) => {
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const text = `{"user_id": "u", "session_id": "s", "text": "t", "query": "q", "items": [], "metadata": ${nested}}`;
        assertRefused(await send('POST', route, text), `${route} nested ${depth} deep`);
      }),
      { numRuns: 20 },
    );
    const huge = JSON.stringify({ user_id: 'u', session_id: 's', text: 'x'.repeat(5 * 1024 * 1024) });
    for (const route of BODY_ROUTES) {
      const answer = await send('POST', route, huge);
      assert.equal(answer.status, 413, `${route} with 5 MiB`);
      assertRefused(answer, route);
    }
  });

  it('refuses times a database cannot hold, and cursors of such times, storing nothing', async () => {
    const times = ['2016-12-31T23:59:60Z', '0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00', '9999-12-31T23:59:59-01:00'];
    for (const time of times) {
      const write = await send('POST', '/memory', JSON.stringify({ user_id: 'u', session_id: 's', text: 't', created_at: time }));
      assert.equal(write.status, 400, `created_at ${time}`);
      assert.equal((write.body as { error: { code: string } }).error.code, 'invalid_input');
      const items = [{ user_id: 'u', session_id: 's', text: 'fine' }, { user_id: 'u', session_id: 's', text: 't', created_at: time }];
      const batch = await send('POST', '/memory/batch', JSON.stringify({ items }));
      assert.equal(batch.status, 400, `a batch with created_at ${time}`);
      assert.match((batch.body as { error: { message: string } }).error.message, /items\/1\/created_at/);
      for (const bound of ['created_after', 'created_before']) {
        const search = await send('POST', '/memory/search', JSON.stringify({ user_id: 'u', query: 'q', [bound]: time }));
        assert.equal(search.status, 400, `${bound} ${time}`);
      }
    }
    for (const time of [Number.MAX_SAFE_INTEGER, Date.parse('0000-06-01T00:00:00Z')]) {
      const cursor = Buffer.from(JSON.stringify([time, 1])).toString('base64url');
      const page = await send('GET', `/sessions/${SEED_SESSION}/history?user_id=${SEED_USER}&cursor=${cursor}`);
      assert.equal(page.status, 400, `a cursor at ${time}`);
      assert.equal((page.body as { error: { code: string } }).error.code, 'invalid_input');
    }
    const earliest = await send('POST', '/memory/search', JSON.stringify({ user_id: SEED_USER, query: 'tomatoes', created_after: '0001-01-01T00:00:00Z' }));
    assert.equal(earliest.status, 200);
    assert.equal((earliest.body as { results: unknown[] }).results.length, 1);
  });

  it('reads, deletes and erases by ids as long as a write may give them', async () => {
    // 128 characters, most of them sent percent-encoded.
    const long = (letter: string): string => `${letter}${':@'.repeat(63)}${letter}`;
    const [id, user, session] = [long('i'), long('u'), long('s')];
    const write = await send('POST', '/memory', JSON.stringify({ id, user_id: user, session_id: session, text: 'long names' }));
    assert.equal(write.status, 202);
    await client.waitForTask((write.body as { task_id: string }).task_id);
    const path = (text: string): string => encodeURIComponent(text);
    assert.equal((await send('GET', `/memory/${path(id)}`)).status, 200);
    const history = await send('GET', `/sessions/${path(session)}/history?user_id=${path(user)}`);
    assert.equal((history.body as { items: unknown[] }).items.length, 1);
    assert.equal((await send('DELETE', `/memory/${path(id)}`)).status, 204);
    assert.deepEqual((await send('DELETE', `/users/${path(user)}`)).body, { user_id: user, deleted: 0 });
    const tooLong = await send('GET', `/memory/${'x'.repeat(2_000)}`);
    assert.equal(tooLong.status, 414);
    assert.deepEqual(tooLong.body, { error: { code: 'uri_too_long', message: 'a part of the path is too long' } });
  });

  it('answers a path that is not a valid URL in the API\'s error shape', async () => {
    for (const path of ['/memory/abc%', '/memory/%E0%A4%A', '/sessions/%ZZ/history?user_id=u']) {
      const answer = await send('GET', path);
      assert.equal(answer.status, 400, path);
      assert.deepEqual(answer.body, { error: { code: 'invalid_url', message: 'the path is not a valid URL' } });
    }
  });

  it('answers what is not HTTP, or headers too large, with the API\'s error body and closes', async () => {
    const errorOf = async (request: string): Promise<{ status: number; body: unknown }> => {
      const { status, body } = await rawHttpAnswer(node.url, request);
      return { status, body };
    };
    assert.deepEqual(await errorOf('NOT HTTP AT ALL\r\n\r\n'), {
      status: 400,
      body: { error: { code: 'malformed_request', message: 'the request is not valid HTTP' } },
    });
    const huge = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`;
    assert.deepEqual(await errorOf(huge), {
      status: 431,
      body: { error: { code: 'headers_too_large', message: 'the request headers are too large' } },
    });
  });

  it('changed nothing a client can see with any refused request', async () => {
    assert.equal(await snapshot(), baseline);
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
