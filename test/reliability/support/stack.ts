import { rm } from 'node:fs/promises';
import pg from 'pg';
import { createChromaVectorStore } from '../../../src/adapters/chroma/chroma-vector-store.js';
import type { NodeRoles, RunningNode } from '../../../src/main/node.js';
import type { VectorStore } from '../../../src/ports/vector-store.js';
import { startTestChroma, type TestChroma } from '../../support/chroma-server.js';
import { EngramClient } from '../../support/http-client.js';
import { silentLogger } from '../../support/logger.js';
import { startNodeFromEnv, testNodeBase } from '../../support/node-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startTestRedis, type TestRedis } from '../../support/redis-server.js';
import { tearDown } from '../../support/tear-down.js';

/** The tenant of the bootstrap key. */
export const TENANT = 'default';

/**
 * The distributed mode's services, each of the test's own and each in reach of the test, so that
 * it can stop, restart or cut them off while Engram runs.
 */
export interface TestStack {
  readonly database: TestDatabase;
  readonly redis: TestRedis;
  readonly chroma: TestChroma;
  readonly apiKey: string;
  /** What `engram serve|worker` needs to run on this stack. */
  readonly env: Record<string, string>;
  /** Starts Engram in this process with the given roles. */
  startNode(roles: NodeRoles, extraEnv?: Record<string, string>): Promise<RunningNode>;
  client(url: string): EngramClient;
  /** Runs SQL in the test database, as the administrator. */
  sql<Row extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Live memory ids per user, straight from Postgres. */
  liveMemoryIds(): Promise<string[]>;
  /** Vector ids of the given users, straight from Chroma (an id twice would be listed twice). */
  vectorIds(userIds: readonly string[]): Promise<string[]>;
  vectorStore(): Promise<VectorStore>;
  stop(): Promise<void>;
}

export async function startTestStack(extraEnv: Record<string, string> = {}): Promise<TestStack> {
  const { apiKey, dataDir, env: baseEnv } = await testNodeBase('engram-reliability-');
  const [database, redis, chroma] = await Promise.all([createTestDatabase(), startTestRedis(), startTestChroma()]);
  const env: Record<string, string> = {
    ...baseEnv,
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    CHROMA_URL: chroma.url,
    ...extraEnv,
  };
  const nodes: RunningNode[] = [];
  let vectors: VectorStore | null = null;
  const openVectors = async (): Promise<VectorStore> => {
    vectors ??= await createChromaVectorStore({ url: chroma.url, logger: silentLogger() });
    return vectors;
  };
  const sql = async <Row extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<Row>(text, params)).rows;
    } finally {
      await client.end();
    }
  };

  return {
    database,
    redis,
    chroma,
    apiKey,
    env,
    async startNode(roles, more = {}) {
      const node = await startNodeFromEnv({ ...env, ...more }, roles);
      nodes.push(node);
      return node;
    },
    client: (url) => new EngramClient(url, apiKey),
    sql,
    async liveMemoryIds() {
      const rows = await sql<{ id: string }>('SELECT id FROM memories WHERE NOT deleted ORDER BY id');
      return rows.map((row) => row.id);
    },
    async vectorIds(userIds) {
      const store = await openVectors();
      const ids: string[] = [];
      for (const userId of userIds) ids.push(...(await store.listIds(TENANT, userId)));
      return ids.sort();
    },
    vectorStore: openVectors,
    stop: () =>
      tearDown([
        () => Promise.all(nodes.map((node) => node.close())),
        async () => vectors?.close(),
        () => Promise.all([database.drop(), redis.stop(), chroma.stop()]),
        () => rm(dataDir, { recursive: true, force: true }),
      ]),
  };
}

/** Counts of write tasks by status, straight from Postgres. */
export async function taskCounts(stack: TestStack): Promise<Record<string, number>> {
  const rows = await stack.sql<{ status: string; count: string }>('SELECT status, count(*) AS count FROM write_tasks GROUP BY status');
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
}

/** Waits until no write task is queued or processing; returns the final counts. */
export async function waitUntilSettled(stack: TestStack, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await taskCounts(stack);
    if ((counts['queued'] ?? 0) + (counts['processing'] ?? 0) === 0) return counts;
    if (Date.now() > deadline) throw new Error(`writes still pending after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
