import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer, runCli } from '../support/cli.js';
import { freePort, waitFor } from '../support/free-port.js';
import { EngramClient } from '../support/http-client.js';

/** Whether a process of this number runs (and is not a zombie left to be reaped). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

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
    assert.doesNotMatch(first.output, /shorter than 20 characters/, 'a long bootstrap key is not warned of');

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

  it('warns of a bootstrap key short enough to be found from a copy of the database, without writing it', async () => {
    const shortKey = 'dev-key';
    const server = new CliServer(['start'], { ...env, ENGRAM_API_KEY: shortKey });
    await server.waitHealthy(url);
    assert.equal((await new EngramClient(url, shortKey).request('GET', '/sessions/s/history?user_id=u')).status, 200);
    assert.equal(await server.stop(), 0);
    assert.match(server.output, /ENGRAM_API_KEY is shorter than 20 characters/);
    assert.doesNotMatch(server.output, new RegExp(shortKey));
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

  it('keeps what a command prints apart from what it logs', async () => {
    // A lock left by a process that is gone: taking it over is logged as a warning.
    const folder = await mkdtemp(join(tmpdir(), 'engram-cli-'));
    try {
      const gone = spawn(process.execPath, ['-e', '']);
      const pid = gone.pid;
      await new Promise((resolve) => gone.on('close', resolve));
      await writeFile(join(folder, 'engram.lock'), JSON.stringify({ pid, host: hostname(), since: new Date().toISOString() }));

      const created = await runCli(['keys', 'create', '--tenant', 'acme'], { ...env, ENGRAM_DATA_DIR: folder });

      assert.equal(created.code, 0, created.stderr);
      assert.deepEqual(
        created.stdout.trim().split('\n').map((line) => line.split(':')[0]),
        ['id', 'tenant', 'key', 'Store the key now'],
      );
      assert.match(created.stderr, /taking over the lock of a process that is gone/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('reads keys and checks stores only where a database is, never making an empty one', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'engram-cli-'));
    try {
      const mistyped = join(folder, 'engarm');
      for (const args of [['keys', 'list'], ['keys', 'revoke', 'k1'], ['doctor']]) {
        const result = await runCli(args, { ...env, ENGRAM_DATA_DIR: mistyped });
        assert.equal(result.code, 1, args.join(' '));
        assert.equal(result.stdout, '');
        assert.match(result.stderr, /^engram: no Engram database in .*engarm: /, args.join(' '));
      }
      assert.equal(existsSync(mistyped), false);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
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

  it('refuses to serve or work without the shared stores, naming each missing URL, rather than accept writes no worker sees', async () => {
    for (const command of ['serve', 'worker']) {
      const result = await runCli([command], env);
      assert.equal(result.code, 2, result.stderr);
      for (const name of ['DATABASE_URL', 'REDIS_URL', 'CHROMA_URL']) assert.match(result.stderr, new RegExp(name));
      assert.match(result.stderr, /engram start/);
    }
  });
  it('answers a wrong command line with its usage, and a port in use in one line, never a stack trace', async () => {
    for (const args of [['keys', 'create', '--tenant'], ['keys', 'list', '--bogus']]) {
      const result = await runCli(args, env);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /usage: engram/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const folder = await mkdtemp(join(tmpdir(), 'engram-cli-port-'));
    try {
      const result = await runCli(['start'], { ...env, PORT: String(port), ENGRAM_DATA_DIR: folder, LOG_LEVEL: 'silent' });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /EADDRINUSE/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    } finally {
      taken.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('ends `redact` quietly when its reader goes away', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'main', 'cli.ts'), 'redact'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin.on('error', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdout.once('data', () => child.stdout.destroy());
    child.stdin.end('mail me at ana@example.org\n'.repeat(200_000));
    assert.equal(await exited, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
  });

  it('stops its Chroma when a signal comes while it is still starting', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'engram-cli-boot-'));
    try {
      const server = new CliServer(['start'], { ...env, PORT: String(await freePort()), ENGRAM_DATA_DIR: folder });
      let chromaPid = 0;
      await waitFor(async () => {
        chromaPid = Number(/"chromaPid":(\d+)/.exec(server.output)?.[1] ?? 0);
        return chromaPid > 0;
      }, 60_000, `chroma did not start\n${server.output}`);
      server.signal('SIGTERM');
      assert.equal(await server.exited, 143, server.output);
      await waitFor(async () => !isRunning(chromaPid), 10_000, `chroma ${chromaPid} outlived Engram`);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
