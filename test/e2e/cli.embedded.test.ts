import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer, runCli } from '../support/cli.js';
import { freePort } from '../support/free-port.js';
import { EngramClient } from '../support/http-client.js';

describe('engram start (embedded mode, as a new user runs it)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let url: string;
  const bootstrapKey = `bootstrap-${randomUUID()}`;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'engram-cli-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = { PORT: String(port), ENGRAM_DATA_DIR: dataDir, ENGRAM_API_KEY: bootstrapKey, LOG_LEVEL: 'info' };
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves, stops cleanly on SIGTERM, and keeps everything across a restart', async () => {
    const first = new CliServer(['start'], env);
    await first.waitHealthy(url);
    const client = new EngramClient(url, bootstrapKey);
    const user = `user-${randomUUID()}`;
    const accepted = await client.request<{ task_id: string; id: string }>('POST', '/memory', {
      user_id: user,
      session_id: 'diary',
      text: 'I adopted a golden retriever named Biscuit',
    });
    assert.equal(accepted.status, 202);
    assert.equal(await client.waitForTask(accepted.body.task_id), 'completed');

    const busy = await runCli(['keys', 'list'], env);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /in use|busy/i);

    assert.equal(await first.stop(), 0);
    assert.doesNotMatch(first.output, /Biscuit/);

    const second = new CliServer(['start'], env);
    await second.waitHealthy(url);
    const history = await client.request<{ items: { text: string }[] }>('GET', `/sessions/diary/history?user_id=${user}`);
    assert.deepEqual(history.body.items.map((item) => item.text), ['I adopted a golden retriever named Biscuit']);
    const found = await client.request<{ results: { id: string }[] }>('POST', '/memory/search', {
      query: "What is my dog's name?",
      user_id: user,
    });
    assert.equal(found.body.results[0]?.id, accepted.body.id);
    assert.equal(await second.stop(), 0);
  });

  it('creates, lists and revokes keys on the same data folder, showing a key only once', async () => {
    const created = await runCli(['keys', 'create', '--tenant', 'acme', '--name', 'backend'], env);
    assert.equal(created.code, 0, created.stderr);
    const key = /key:\s+(\S+)/.exec(created.stdout)?.[1];
    const id = /id:\s+(\S+)/.exec(created.stdout)?.[1];
    assert.ok(key !== undefined && id !== undefined);
    const listed = await runCli(['keys', 'list'], env);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, new RegExp(`${id}\\s+acme\\s+backend`));
    assert.ok(!listed.stdout.includes(key), 'the list never shows a key');

    const server = new CliServer(['start'], env);
    await server.waitHealthy(url);
    const client = new EngramClient(url, key);
    assert.equal((await client.request('GET', '/sessions/s/history')).status, 200);
    assert.equal(await server.stop(), 0);

    const revoked = await runCli(['keys', 'revoke', id], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    const again = new CliServer(['start'], env);
    await again.waitHealthy(url);
    assert.equal((await client.request('GET', '/sessions/s/history')).status, 401);
    assert.equal(await again.stop(), 0);
  });

  it('redacts stdin with the same redactor, as text or JSON lines', async () => {
    const text = await runCli(['redact'], env, 'mail me at ana@example.org\nnothing here\n');
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'mail me at [EMAIL]\nnothing here\n');
    const json = await runCli(['redact', '--json'], env, 'mail me at ana@example.org\n');
    assert.deepEqual(JSON.parse(json.stdout), {
      text: 'mail me at [EMAIL]',
      entities: [{ type: 'EMAIL', start: 11, end: 26 }],
    });
  });

  it('stops at start with one message naming every bad variable', async () => {
    const result = await runCli(['start'], { ...env, PORT: 'eighty', ENGRAM_PII: 'maybe' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /PORT/);
    assert.match(result.stderr, /ENGRAM_PII/);
  });
});
