import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { startNode, type RunningNode } from '../../src/main/node.js';
import { startTestChroma, type TestChroma } from './chroma-server.js';
import { silentLogger } from './logger.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { startTestRedis, type TestRedis } from './redis-server.js';

export type NodeMode = 'embedded' | 'distributed';

/** A running Engram (API and worker) with stores of its own, and its bootstrap key. */
export interface TestNode {
  readonly url: string;
  readonly apiKey: string;
  readonly mode: NodeMode;
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTestNode(mode: NodeMode, extraEnv: Record<string, string> = {}): Promise<TestNode> {
  const apiKey = `test-key-${randomUUID()}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-node-'));
  let database: TestDatabase | null = null;
  let redis: TestRedis | null = null;
  let chroma: TestChroma | null = null;
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    ENGRAM_API_KEY: apiKey,
    ENGRAM_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...extraEnv,
  };
  if (mode === 'distributed') {
    database = await createTestDatabase();
    redis = await startTestRedis();
    chroma = await startTestChroma();
    Object.assign(env, { DATABASE_URL: database.url, REDIS_URL: redis.url, CHROMA_URL: chroma.url });
  }
  let node: RunningNode;
  try {
    node = await startNode(loadConfig(env, { secretsDir: join(dataDir, 'no-secrets') }), { api: true, worker: true }, silentLogger());
  } catch (error) {
    await Promise.all([database?.drop(), redis?.stop(), chroma?.stop()]);
    throw error;
  }
  return {
    url: node.url ?? '',
    apiKey,
    mode,
    env,
    async stop() {
      await node.close();
      await Promise.all([database?.drop(), redis?.stop(), chroma?.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
