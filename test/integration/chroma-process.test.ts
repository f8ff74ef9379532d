import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parse } from 'yaml';
import { chromaCliPath, chromaConfigFileOf, startChromaProcess } from '../../src/adapters/chroma/chroma-process.js';
import { lowerProcessPriority } from '../../src/adapters/cpu-priority.js';
import { collectionCacheSection } from '../../src/adapters/chroma/server-config.js';
import { superviseChroma } from '../../src/adapters/chroma/supervised-chroma.js';
import { DomainError } from '../../src/domain/errors.js';
import { freePort, waitFor } from '../support/free-port.js';
import { silentLogger } from '../support/logger.js';
import { runScript } from '../support/cli.js';
import { countedRestarts } from '../support/restart-counts.js';

const logger = silentLogger();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function answersHeartbeat(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/api/v2/heartbeat`)).ok;
  } catch {
    return false;
  }
}

describe('startChromaProcess', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'engram-chroma-process-'));
  });

  /** Names `pid` in the pid file, as a killed parent leaves it, then starts and stops a Chroma. */
  async function startAndStopAfter(pid: number): Promise<void> {
    await writeFile(join(dataDir, 'chroma.pid'), `${pid}\n`);
    const chroma = await startChromaProcess({ dataDir, logger });
    await chroma.stop();
  }
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts Chroma on loopback, answers heartbeats, and stops, also when asked twice', async () => {
    const chroma = await startChromaProcess({ dataDir, logger });

    assert.match(chroma.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(await answersHeartbeat(chroma.url));
    assert.equal((await readFile(join(dataDir, 'chroma.pid'), 'utf8')).trim(), String(chroma.pid));
    assert.ok(existsSync(join(dataDir, 'chroma')), 'Chroma keeps its data under the data folder');

    await chroma.stop();
    await chroma.stop();

    assert.equal(isAlive(chroma.pid), false);
    assert.equal(await answersHeartbeat(chroma.url), false);
    assert.equal(existsSync(join(dataDir, 'chroma.pid')), false);
  });

  it('ends a Chroma that a killed parent left running before it starts a new one', async () => {
    const orphan = await startChromaProcess({ dataDir, logger });

    const fresh = await startChromaProcess({ dataDir, logger });
    try {
      await waitFor(async () => !isAlive(orphan.pid), 5_000, 'the orphan to end');
      assert.ok(await answersHeartbeat(fresh.url));
    } finally {
      await fresh.stop();
      await orphan.stop();
    }
  });

  it('ends a Chroma left running by an earlier version, started with --path to its files', async () => {
    const chromaDir = join(dataDir, 'chroma');
    await mkdir(chromaDir, { recursive: true });
    const port = await freePort();
    const earlier = spawn(process.execPath, [chromaCliPath(), 'run', '--path', chromaDir, '--host', '127.0.0.1', '--port', String(port)], {
      stdio: 'ignore',
    });
    const earlierPid = earlier.pid ?? assert.fail('chroma did not start');
    try {
      await waitFor(() => answersHeartbeat(`http://127.0.0.1:${port}`), 20_000, 'the earlier chroma');
      await startAndStopAfter(earlierPid);

      assert.equal(isAlive(earlierPid), false);
    } finally {
      earlier.kill('SIGKILL');
    }
  });

  it("passes none of Engram's secrets to Chroma's environment, and what a process needs to run", async () => {
    const secrets = { ENGRAM_API_KEY: `key-${randomUUID()}`, DATABASE_URL: 'postgres://engram:pw-secret@db/engram' };
    Object.assign(process.env, secrets);
    let chroma: Awaited<ReturnType<typeof startChromaProcess>> | null = null;
    try {
      chroma = await startChromaProcess({ dataDir, logger });
      const environ = await readFile(`/proc/${chroma.pid}/environ`, 'utf8');
      const names = environ.split('\u0000').map((entry) => entry.slice(0, entry.indexOf('=')));
      assert.ok(!environ.includes(secrets.ENGRAM_API_KEY) && !environ.includes('pw-secret'), 'a secret reached Chroma');
      assert.ok(names.includes('PATH') && names.includes('GLIBC_TUNABLES'), names.join(' '));
    } finally {
      for (const name of Object.keys(secrets)) Reflect.deleteProperty(process.env, name);
      await chroma?.stop();
    }
  });

  it('runs Chroma from a file in the data folder that keeps collection descriptions in memory', async () => {
    const chroma = await startChromaProcess({ dataDir, logger });
    try {
      const commandLine = (await readFile(`/proc/${chroma.pid}/cmdline`, 'utf8')).split('\u0000');
      const configFile = chromaConfigFileOf(dataDir);
      assert.equal(commandLine[commandLine.indexOf('run') + 1], configFile);
      const config = parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
      assert.equal(config['persist_path'], join(dataDir, 'chroma'));
      assert.equal(config['listen_address'], '127.0.0.1');
      assert.equal(`http://127.0.0.1:${String(config['port'])}`, chroma.url);
      assert.deepEqual(config['collections_with_segments_provider'], (parse(collectionCacheSection().join('\n')) as Record<string, unknown>)['collections_with_segments_provider']);
    } finally {
      await chroma.stop();
    }
  });

  it('serves a collection dropped and made again under its name afresh, despite the cache', async () => {
    const chroma = await startChromaProcess({ dataDir, logger });
    const collections = `${chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
      const response = await fetch(`${collections}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    };
    const nearest = async (id: string, vector: number[]) =>
      call('POST', `/${id}/query`, { query_embeddings: [vector], n_results: 5, include: ['distances'] });
    try {
      const made = [];
      for (const [round, vector] of [[1, 0, 0], [0, 1, 0], [0, 0, 1]].entries()) {
        const { body: collection } = await call('POST', '', { name: 'twice-made', configuration: { hnsw: { space: 'cosine' } } });
        const id = String(collection['id']);
        made.push(id);
        await call('POST', `/${id}/upsert`, { ids: [`record-${round}`], embeddings: [vector] });
        // Each round's record shows at once, in the collection of that round only.
        assert.deepEqual((await nearest(id, vector)).body['ids'], [[`record-${round}`]]);
        await call('POST', `/${id}/upsert`, { ids: [`second-${round}`], embeddings: [vector.map((value) => value + 0.1)] });
        assert.deepEqual((await nearest(id, vector)).body['ids'], [[`record-${round}`, `second-${round}`]]);
        await call('DELETE', '/twice-made');
        assert.ok((await nearest(id, vector)).status >= 400, 'a dropped collection answers no query');
      }
      assert.equal(new Set(made).size, 3);
    } finally {
      await chroma.stop();
    }
  });

  it('leaves alone a process named in the pid file that is not Chroma', async () => {
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    const bystanderPid = bystander.pid ?? assert.fail('sleep did not start');
    try {
      await startAndStopAfter(bystanderPid);

      assert.equal(isAlive(bystanderPid), true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it("fails with chroma_start_failed and Chroma's last output when it cannot listen", async () => {
    const port = await freePort();
    const connections: Socket[] = [];
    const squatter = createServer((socket) => connections.push(socket));
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await assert.rejects(startChromaProcess({ dataDir, logger, port, startTimeoutMs: 5_000 }), (error: unknown) => {
        assert.ok(error instanceof DomainError);
        assert.equal(error.code, 'chroma_start_failed');
        const { output } = error.details as { output: string[] };
        assert.ok(output.length > 0, 'the error carries what Chroma printed');
        return true;
      });
      assert.equal(existsSync(join(dataDir, 'chroma.pid')), false);
    } finally {
      connections.forEach((socket) => socket.destroy());
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('runs Chroma at the nice value asked for, with every thread, also those it starts later', async () => {
    const chroma = await startChromaProcess({ dataDir, logger, niceness: 7 });
    try {
      const nices = (): number[] => readdirSync(`/proc/${chroma.pid}/task`).map((tid) => getPriority(Number(tid)));
      assert.ok(nices().length > 1, 'Chroma runs several threads');
      assert.deepEqual(new Set(nices()), new Set([7]));
      // work that makes Chroma start threads: a collection made, written and read
      const collection = (await (
        await fetch(`${chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: `c${randomUUID().slice(0, 8)}` }),
        })
      ).json()) as { id: string };
      const path = `${chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections/${collection.id}`;
      const post = (endpoint: string, body: unknown): Promise<Response> =>
        fetch(`${path}/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.ok((await post('upsert', { ids: ['a'], embeddings: [[1, 0, 0]] })).ok);
      assert.ok((await post('query', { query_embeddings: [[1, 0, 0]], n_results: 1 })).ok);
      assert.deepEqual(new Set(nices()), new Set([7]));

      assert.equal(lowerProcessPriority(chroma.pid, 3), true);
      assert.deepEqual(new Set(nices()), new Set([7]), 'a priority is never raised');
    } finally {
      await chroma.stop();
    }
  });
});

describe('superviseChroma', () => {
  it('starts Chroma again on the same port when it is killed, with its collections, counts the stop, and stops it for good', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'engram-chroma-supervised-'));
    const { counted, counts } = countedRestarts();
    const chroma = await superviseChroma({ dataDir, logger }, { timing: { firstDelayMs: 100 }, counts });
    try {
      const collections = `${chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
      const name = `c${randomUUID().slice(0, 8)}`;
      const made = await fetch(collections, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
      assert.ok(made.ok);
      const first = chroma.pid();
      process.kill(first, 'SIGKILL');
      await waitFor(async () => !isAlive(first), 10_000, 'the killed chroma to end');
      await waitFor(async () => chroma.pid() !== first && (await answersHeartbeat(chroma.url)), 30_000, 'chroma to answer again');
      const listed = (await (await fetch(collections)).json()) as Array<{ name: string }>;
      assert.deepEqual(listed.map((collection) => collection.name), [name]);
      assert.deepEqual(counted, { stopped: 1, startFailed: 0 });
      const second = chroma.pid();
      await chroma.stop();
      assert.deepEqual(counted, { stopped: 1, startFailed: 0 }, 'a stop asked for is not counted');
      assert.equal(isAlive(second), false);
      assert.equal(await answersHeartbeat(chroma.url), false);
    } finally {
      await chroma.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("is one process's: another asking for the folder's Chroma meanwhile is refused, and the first keeps running", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'engram-chroma-one-owner-'));
    const chroma = await superviseChroma({ dataDir, logger });
    const fixture = join('test', 'integration', 'fixtures', 'supervise-chroma.ts');
    try {
      const first = chroma.pid();
      const other = await runScript(fixture, [dataDir], {});
      assert.equal(other.stdout.trim(), 'data_dir_busy', other.stderr);
      await assert.rejects(superviseChroma({ dataDir, logger }), { code: 'data_dir_busy' });
      assert.equal(chroma.pid(), first);
      assert.ok(await answersHeartbeat(chroma.url));
      await chroma.stop();
      assert.equal((await runScript(fixture, [dataDir], {})).stdout.trim(), 'started');
    } finally {
      await chroma.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
