/**
 * The floor of a search: what any implementation has to spend at least. One query embedding with
 * the same model in this process, the raw Chroma query that Engram's layout needs (the owner's
 * record ids in their bucket, or their own collection, with the owner's signature), and the Postgres fetch of the
 * matched rows. Each is timed alone, one at a time. Engram holds the embedded PGlite while it runs,
 * so in embedded mode the fetches of the same rows are timed afterwards, on Engram's database
 * opened in this process while Engram is stopped (it starts again on the same data).
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import pino from 'pino';
import { bucketCollectionName, MODEL_MARKER_COLLECTION, ownerKey, userCollectionName } from '../../src/adapters/chroma/collection-name.js';
import { memoryIdOfRecord } from '../../src/adapters/chroma/record-id.js';
import { VECTOR_LAYOUT_KEY, vectorLayout } from '../../src/adapters/chroma/vector-layout.js';
import { createUseLiteEmbedder } from '../../src/adapters/embedding/use-lite-embedder.js';
import { PreparedStatements } from '../../src/adapters/pglite/prepared-statements.js';
import { embedRuntimeFromEnvironment } from './embed-runtime.js';
import type { EngramUnderTest } from './engram-under-test.js';
import { JsonHttp } from './json-http.js';
import { latencies, type Latencies } from './stats.js';
import { queryText, type Random } from './workload.js';

export interface Floor {
  readonly embedMs: Latencies;
  readonly chromaMs: Latencies;
  readonly sqlMs: Latencies;
  /** Sum of the parts' p50 (and p95), as `Latencies`. */
  readonly totalMs: Latencies;
}

const COLLECTIONS = '/api/v2/tenants/default_tenant/databases/default_database/collections';
const TENANT = 'default';
const TOP_K = 10;
/** Fetches run before the timed ones, as the other parts' first samples are. */
const WARM_UP = 10;
/**
 * The fetch of the rows a search returns, as any implementation needs it: prepared, so that it is
 * parsed and planned once, as Engram's own statements are.
 */
const FETCH_ROWS = `SELECT tenant_id, id, user_id, session_id, role, text, metadata, created_at, updated_at, version
                    FROM memories WHERE tenant_id = $1 AND id = ANY($2::text[]) AND NOT deleted`;

async function chromaGet(chroma: JsonHttp, path: string): Promise<Record<string, unknown> | null> {
  const answer = await chroma.request<Record<string, unknown>>('GET', `${COLLECTIONS}${path}`);
  return answer.status === 200 ? answer.body : null;
}

async function chromaPost(chroma: JsonHttp, path: string, body: unknown): Promise<Record<string, unknown>> {
  return (await chroma.request<Record<string, unknown>>('POST', `${COLLECTIONS}${path}`, body)).body;
}

/** The record ids of an owner in a bucket. */
async function ownerRecordIds(chroma: JsonHttp, collectionId: string, owner: string): Promise<string[]> {
  const found = await chromaPost(chroma, `/${collectionId}/get`, { where: { owner: { $eq: owner } }, include: [] });
  return (found['ids'] as string[] | undefined) ?? [];
}

export async function measureFloor(engram: EngramUnderTest, users: readonly string[], samples: number, random: Random): Promise<Floor> {
  const embedder = await createUseLiteEmbedder({ logger: pino({ level: 'silent' }), ...embedRuntimeFromEnvironment() });
  const chromaUrl = await engram.chromaUrl();
  const chromaHttp = new JsonHttp(chromaUrl);
  const marker = await chromaGet(chromaHttp, `/${MODEL_MARKER_COLLECTION}`);
  const markerMetadata = (marker?.['metadata'] ?? {}) as Record<string, unknown>;
  const buckets = Number(markerMetadata['engram_buckets'] ?? 16);
  const layout = vectorLayout(markerMetadata[VECTOR_LAYOUT_KEY]);
  const sql = engram.databaseUrl === null ? null : new pg.Client({ connectionString: engram.databaseUrl });
  await sql?.connect();
  // The rows each sample would fetch, for the embedded database, timed once Engram is stopped.
  const fetchedLater: string[][] = [];
  const embed: number[] = [];
  const chroma: number[] = [];
  const fetchRows: number[] = [];
  try {
    for (let index = 0; index < samples + WARM_UP; index += 1) {
      const user = random.pick(users);
      let started = performance.now();
      const [vector] = await embedder.embed([queryText(random, 1_000_000 + index)]);
      const embedTime = performance.now() - started;

      const owner = ownerKey(TENANT, user);
      const dedicated = await chromaGet(chromaHttp, `/${userCollectionName(TENANT, user)}`);
      const target = dedicated ?? (await chromaGet(chromaHttp, `/${bucketCollectionName(owner, buckets)}`));
      // A bucket query names the owner's records, as Engram does with the ids its database holds.
      const held = dedicated === null ? await ownerRecordIds(chromaHttp, String(target?.['id']), owner) : [];
      started = performance.now();
      const answer = await chromaPost(chromaHttp, `/${String(target?.['id'])}/query`, {
        query_embeddings: [Array.from(layout.vectorFor(vector ?? new Float32Array(), owner))],
        // What Engram asks for: the search depth, which is also the breadth of Chroma's walk.
        n_results: dedicated === null ? Math.max(1, Math.min(50, held.length)) : 50,
        include: ['distances'],
        ...(dedicated === null ? { ids: held } : {}),
      });
      const chromaTime = performance.now() - started;

      // The ten best, as a search returns them; record ids carry their owner in front of the memory id.
      const ids = ((answer['ids'] as string[][] | undefined)?.[0] ?? []).slice(0, TOP_K).map(memoryIdOfRecord);
      started = performance.now();
      await sql?.query({ name: 'floor-fetch-rows', text: FETCH_ROWS, values: [TENANT, ids] });
      const sqlTime = performance.now() - started;
      if (index >= WARM_UP) {
        embed.push(embedTime);
        chroma.push(chromaTime);
        if (sql === null) fetchedLater.push(ids);
        else fetchRows.push(sqlTime);
      }
    }
  } finally {
    await sql?.end();
    await embedder.close();
    chromaHttp.close();
  }
  if (sql === null) fetchRows.push(...(await engram.whileStopped((dataDir) => timeFetches(dataDir, fetchedLater))));
  const parts = [latencies(embed), latencies(chroma), latencies(fetchRows)] as const;
  const sum = (key: 'p50' | 'p95' | 'p99'): number => parts.reduce((total, part) => total + part[key], 0);
  return {
    embedMs: parts[0],
    chromaMs: parts[1],
    sqlMs: parts[2],
    totalMs: { p50: sum('p50'), p95: sum('p95'), p99: sum('p99'), count: samples },
  };
}

/** Times the fetch of each list of rows on the embedded database in `dataDir`, after a warm-up. */
async function timeFetches(dataDir: string, idLists: readonly string[][]): Promise<number[]> {
  const database = await PGlite.create({ dataDir });
  // Engram's own way to run a statement prepared on PGlite, whose `query` plans every call anew.
  const prepared = new PreparedStatements(database);
  try {
    const times: number[] = [];
    for (const [index, ids] of [...idLists.slice(0, WARM_UP), ...idLists].entries()) {
      const started = performance.now();
      const rows = await prepared.pipeline([{ text: FETCH_ROWS, params: [TENANT, ids], prepare: true }]);
      if (rows === null) throw new Error('the floor fetch could not be prepared');
      if (index >= Math.min(WARM_UP, idLists.length)) times.push(performance.now() - started);
    }
    return times;
  } finally {
    await database.close();
  }
}
