// Compares layouts of the vector store on a local Chroma, with the same vectors:
//   per-user  — Engram's ChromaVectorStore as it is (hashed buckets with an owner-key filter, and
//               dedicated collections for large users; the name stays from the first layout);
//   shared    — one collection for everyone, queried with a `where` on tenant and user, or on one owner key;
//   buckets   — users spread over a few collections, queried the same two ways.
// Reports ingest time, top-10 query latency, the server's RSS and its disk use.
//
//   node --import tsx bench/chroma-layout.ts [users=1000] [vectorsPerUser=100] [dimensions=512] [layouts=per-user,shared,buckets]
// (BUCKETS=32 sets the bucket count of the third layout: users hashed over a few collections.)
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startChromaProcess, type ChromaProcess } from '../src/adapters/chroma/chroma-process.js';
import { ChromaVectorStore } from '../src/adapters/chroma/chroma-vector-store.js';
import { float32ToBase64 } from '../src/support/float32-bytes.js';
import type { VectorRecord } from '../src/ports/vector-store.js';

const users = Number(process.argv[2] ?? 1_000);
const vectorsPerUser = Number(process.argv[3] ?? 100);
const dimensions = Number(process.argv[4] ?? 512);
const queries = 300;
const logger = pino({ level: 'warn' });
const tenantId = 'bench';
const userIds = Array.from({ length: users }, (_, index) => `user-${index}`);

function randomUnitVector(): Float32Array {
  const vector = Float32Array.from({ length: dimensions }, () => Math.random() * 2 - 1);
  const length = Math.hypot(...vector);
  return vector.map((value) => value / length);
}

function recordsOf(userId: string): VectorRecord[] {
  return Array.from({ length: vectorsPerUser }, () => ({
    id: randomUUID(),
    tenantId,
    userId,
    sessionId: 's',
    role: 'user' as const,
    createdAt: new Date(),
    metadata: {},
    embedding: randomUnitVector(),
  }));
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
}

function diskMiB(path: string): number {
  return Math.round(Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]) / 1024);
}

async function latencies(run: () => Promise<unknown>, count = queries): Promise<string> {
  for (let warmUp = 0; warmUp < 20; warmUp += 1) await run();
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  times.sort((left, right) => left - right);
  const at = (quantile: number): string => (times[Math.floor(quantile * (times.length - 1))] ?? 0).toFixed(2);
  return `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, p99 ${at(0.99)} ms`;
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

async function perUserLayout(chroma: ChromaProcess, dataDir: string): Promise<void> {
  const store = new ChromaVectorStore({ url: chroma.url, logger });
  await store.bindModel({ id: 'bench', dimensions });
  const idleRss = rssMiB(chroma.pid);
  const started = performance.now();
  for (let index = 0; index < users; index += 10) {
    await store.upsert(userIds.slice(index, index + 10).flatMap(recordsOf));
  }
  const ingestSeconds = (performance.now() - started) / 1_000;
  console.log(`per-user: ingest ${users * vectorsPerUser} vectors in ${ingestSeconds.toFixed(1)} s`);

  const query = (): Promise<unknown> =>
    store.query({ scope: { tenantId, userId: pick(userIds) }, embedding: randomUnitVector(), topK: 10 });
  console.log(`per-user: top-10, collection id cached  ${await latencies(query)}`);
  const cold = new ChromaVectorStore({ url: chroma.url, logger, collectionCacheSize: 1 });
  console.log(
    `per-user: top-10, id looked up each time ${await latencies(() =>
      cold.query({ scope: { tenantId, userId: pick(userIds) }, embedding: randomUnitVector(), topK: 10 }),
    )}`,
  );
  console.log(
    `per-user: top-10 with session filter    ${await latencies(() =>
      store.query({ scope: { tenantId, userId: pick(userIds), sessionId: 's' }, embedding: randomUnitVector(), topK: 10 }),
    )}`,
  );
  console.log(`per-user: server RSS idle ${idleRss} MiB, after ingest and queries ${rssMiB(chroma.pid)} MiB, disk ${diskMiB(dataDir)} MiB`);

}

/** Users spread over `buckets` collections by a hash of the user; queries filter on the user. */
const filteredLayout = (buckets: number) => async (chroma: ChromaProcess, dataDir: string): Promise<void> => {
  const label = buckets === 1 ? 'shared:  ' : `${buckets} buckets:`;
  const base = `${chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
  const bucketIds: string[] = [];
  for (let bucket = 0; bucket < buckets; bucket += 1) {
    const created = (await post(base, { name: `bucket-${bucket}`, configuration: { hnsw: { space: 'cosine' } } })) as { id: string };
    bucketIds.push(created.id);
  }
  const bucketOf = (userId: string): string => bucketIds[Number.parseInt(userId.slice(5), 10) % buckets] as string;
  const idleRss = rssMiB(chroma.pid);
  const started = performance.now();
  for (let index = 0; index < users; index += 10) {
    const records = userIds.slice(index, index + 10).flatMap(recordsOf);
    for (const id of new Set(records.map((record) => bucketOf(record.userId)))) {
      const inBucket = records.filter((record) => bucketOf(record.userId) === id);
      await post(`${base}/${id}/upsert`, {
        ids: inBucket.map((record) => record.id),
        embeddings: inBucket.map((record) => float32ToBase64(record.embedding)),
        metadatas: inBucket.map((record) => ({ tenant_id: record.tenantId, user_id: record.userId, owner: record.userId, session_id: 's' })),
      });
    }
  }
  const ingestSeconds = (performance.now() - started) / 1_000;
  console.log(`${label} ingest ${users * vectorsPerUser} vectors in ${ingestSeconds.toFixed(1)} s`);
  const query = (id: string, where?: unknown) => (): Promise<unknown> =>
    post(`${base}/${id}/query`, {
      query_embeddings: [Array.from(randomUnitVector())],
      n_results: 10,
      include: ['distances'],
      ...(where === undefined ? {} : { where }),
    });
  if (buckets === 1) console.log(`${label} top-10 unfiltered             ${await latencies(query(bucketIds[0] as string))}`);
  console.log(
    `${label} top-10 where tenant and user  ${await latencies(() => {
      const userId = pick(userIds);
      return query(bucketOf(userId), { $and: [{ tenant_id: tenantId }, { user_id: userId }] })();
    })}`,
  );
  console.log(
    `${label} top-10 where one owner key    ${await latencies(() => {
      const userId = pick(userIds);
      return query(bucketOf(userId), { owner: userId })();
    })}`,
  );
  console.log(`${label} server RSS idle ${idleRss} MiB, after ingest and queries ${rssMiB(chroma.pid)} MiB, disk ${diskMiB(dataDir)} MiB`);
};

async function withChroma(run: (chroma: ChromaProcess, chromaDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-bench-'));
  const chroma = await startChromaProcess({ dataDir, logger });
  try {
    await run(chroma, join(dataDir, 'chroma'));
  } finally {
    await chroma.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`${users} users x ${vectorsPerUser} vectors of ${dimensions} dimensions, ${queries} queries each`);
  const layouts = (process.argv[5] ?? 'per-user,shared,buckets').split(',');
  if (layouts.includes('per-user')) await withChroma(perUserLayout);
  if (layouts.includes('shared')) await withChroma(filteredLayout(1));
  if (layouts.includes('buckets')) await withChroma(filteredLayout(Number(process.env['BUCKETS'] ?? 32)));
}

void main();
