/**
 * The floor of a search: what any implementation has to spend at least. One query embedding with
 * the same model in this process, the raw Chroma query that Engram's layout needs (the owner's
 * record ids in their bucket, or their own collection, with the owner's signature), and the
 * Postgres fetch of the matched rows. Each is timed alone, for queries Engram has just answered
 * (see FloorProbe). Engram holds the embedded PGlite while it runs, so in embedded mode the
 * fetches of the same rows are timed afterwards, on Engram's database opened in this process while
 * Engram is stopped (it starts again on the same data).
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import pino from 'pino';
import {
  bucketCollectionName,
  DEFAULT_BUCKETS,
  MODEL_MARKER_COLLECTION,
  ownerKey,
  recordedBuckets,
  userCollectionName,
} from '../../src/adapters/chroma/collection-name.js';
import { memoryIdOfRecord } from '../../src/adapters/chroma/record-id.js';
import { VECTOR_LAYOUT_KEY, vectorLayout } from '../../src/adapters/chroma/vector-layout.js';
import { createUseLiteEmbedder } from '../../src/adapters/embedding/use-lite-embedder.js';
import { PreparedStatements } from '../../src/adapters/pglite/prepared-statements.js';
import type { Embedder } from '../../src/ports/embedder.js';
import { embedRuntimeFromEnvironment } from './embed-runtime.js';
import type { EngramUnderTest } from './engram-under-test.js';
import { JsonHttp } from './json-http.js';
import { latencies, type Latencies } from './stats.js';

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
/** Embedded fetches run before the timed ones, as the other parts' first samples are. */
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

/**
 * Measures the floor one query at a time, for queries Engram has just answered for the same users
 * (see `searchesOverFloor` in run.ts): both then see the same minutes of a machine whose speed
 * drifts, and the same state of Chroma. Open it, `sample` each query, `close` it as soon as
 * the sampling ends (it holds a model and connections), and read `floor()` once Engram may be
 * stopped: the embedded database's fetches are timed then.
 */
export class FloorProbe {
  readonly #engram: EngramUnderTest;
  readonly #embedder: Embedder;
  readonly #chroma: JsonHttp;
  readonly #sql: pg.Client | null;
  readonly #buckets: number;
  readonly #layout: ReturnType<typeof vectorLayout>;
  readonly #embed: number[] = [];
  readonly #chromaTimes: number[] = [];
  readonly #fetchRows: number[] = [];
  /** The rows each sample would fetch, for the embedded database, timed once Engram is stopped. */
  readonly #fetchedLater: string[][] = [];

  private constructor(engram: EngramUnderTest, embedder: Embedder, chroma: JsonHttp, sql: pg.Client | null, marker: Record<string, unknown>) {
    this.#engram = engram;
    this.#embedder = embedder;
    this.#chroma = chroma;
    this.#sql = sql;
    this.#buckets = recordedBuckets(marker, DEFAULT_BUCKETS);
    this.#layout = vectorLayout(marker[VECTOR_LAYOUT_KEY]);
  }

  static async open(engram: EngramUnderTest): Promise<FloorProbe> {
    const embedder = await createUseLiteEmbedder({ logger: pino({ level: 'silent' }), ...embedRuntimeFromEnvironment() });
    const chroma = new JsonHttp(await engram.chromaUrl());
    const sql = engram.databaseUrl === null ? null : new pg.Client({ connectionString: engram.databaseUrl });
    try {
      await sql?.connect();
      const marker = await chromaGet(chroma, `/${MODEL_MARKER_COLLECTION}`);
      return new FloorProbe(engram, embedder, chroma, sql, (marker?.['metadata'] ?? {}) as Record<string, unknown>);
    } catch (error) {
      await Promise.all([sql?.end(), embedder.close()]);
      chroma.close();
      throw error;
    }
  }

  /** Times the floor of `query` for `user`; a sample not `counted` only warms the parts up. */
  async sample(user: string, query: string, counted: boolean): Promise<void> {
    let started = performance.now();
    const [vector] = await this.#embedder.embed([query]);
    const embedTime = performance.now() - started;

    const owner = ownerKey(TENANT, user);
    const dedicated = await chromaGet(this.#chroma, `/${userCollectionName(TENANT, user)}`);
    const target = dedicated ?? (await chromaGet(this.#chroma, `/${bucketCollectionName(owner, this.#buckets)}`));
    // A bucket query names the owner's records, as Engram does with the ids its database holds.
    const held = dedicated === null ? await ownerRecordIds(this.#chroma, String(target?.['id']), owner) : [];
    started = performance.now();
    const answer = await chromaPost(this.#chroma, `/${String(target?.['id'])}/query`, {
      query_embeddings: [Array.from(this.#layout.vectorFor(vector ?? new Float32Array(), owner))],
      // What Engram asks for: the search depth, which is also the breadth of Chroma's walk.
      n_results: dedicated === null ? Math.max(1, Math.min(50, held.length)) : 50,
      include: ['distances'],
      ...(dedicated === null ? { ids: held } : {}),
    });
    const chromaTime = performance.now() - started;

    // The ten best, as a search returns them; record ids carry their owner in front of the memory id.
    const ids = ((answer['ids'] as string[][] | undefined)?.[0] ?? []).slice(0, TOP_K).map(memoryIdOfRecord);
    started = performance.now();
    await this.#sql?.query({ name: 'floor-fetch-rows', text: FETCH_ROWS, values: [TENANT, ids] });
    const sqlTime = performance.now() - started;
    if (!counted) return;
    this.#embed.push(embedTime);
    this.#chromaTimes.push(chromaTime);
    if (this.#sql === null) this.#fetchedLater.push(ids);
    else this.#fetchRows.push(sqlTime);
  }

  /** Lets go of the model and the connections; the samples are kept. */
  async close(): Promise<void> {
    await Promise.all([this.#sql?.end(), this.#embedder.close()]);
    this.#chroma.close();
  }

  /** The floor of the samples taken. In embedded mode this stops Engram for a while (see the file's comment). */
  async floor(): Promise<Floor> {
    const fetchRows = this.#sql === null ? await this.#engram.whileStopped((dataDir) => timeFetches(dataDir, this.#fetchedLater)) : this.#fetchRows;
    const parts = [latencies(this.#embed), latencies(this.#chromaTimes), latencies(fetchRows)] as const;
    const sum = (key: 'p50' | 'p95' | 'p99'): number => parts.reduce((total, part) => total + part[key], 0);
    return {
      embedMs: parts[0],
      chromaMs: parts[1],
      sqlMs: parts[2],
      totalMs: { p50: sum('p50'), p95: sum('p95'), p99: sum('p99'), count: this.#embed.length },
    };
  }
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
