import { rm } from 'node:fs/promises';
import type { RunningNode } from '../../src/main/node.js';
import { startTestChroma, type TestChroma } from './chroma-server.js';
import { startNodeFromEnv, testNodeBase } from './node-env.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { startTestRedis, type TestRedis } from './redis-server.js';
import { tearDown } from './tear-down.js';

export type NodeMode = 'embedded' | 'distributed';

/** A running Engram (API and worker) with stores of its own, and its bootstrap key. */
export interface TestNode {
  readonly url: string;
  readonly apiKey: string;
  readonly mode: NodeMode;
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** What a distributed test node may share with another: a Redis or a Chroma that it then leaves running. */
export interface SharedStores {
  readonly redis?: TestRedis;
  readonly chroma?: TestChroma;
}

export async function startTestNode(mode: NodeMode, extraEnv: Record<string, string> = {}, shared: SharedStores = {}): Promise<TestNode> {
  const { apiKey, dataDir, env: baseEnv } = await testNodeBase('engram-node-');
  let database: TestDatabase | null = null;
  let redis: TestRedis | null = null;
  let chroma: TestChroma | null = null;
  const env: Record<string, string> = { ...baseEnv, ...extraEnv };
  // What the node's own stores and folder need once it is closed, or failed to start.
  const release = (): Array<() => Promise<unknown>> => [
    () => Promise.all([database?.drop(), redis?.stop(), chroma?.stop()]),
    () => rm(dataDir, { recursive: true, force: true }),
  ];
  let node: RunningNode;
  try {
    if (mode === 'distributed') {
      database = await createTestDatabase();
      if (shared.redis === undefined) redis = await startTestRedis();
      if (shared.chroma === undefined) chroma = await startTestChroma();
      Object.assign(env, {
        DATABASE_URL: database.url,
        REDIS_URL: (shared.redis ?? redis)?.url ?? '',
        CHROMA_URL: (shared.chroma ?? chroma)?.url ?? '',
      });
    }
    node = await startNodeFromEnv(env, { api: true, worker: true });
  } catch (error) {
    await tearDown(release()).catch(() => undefined);
    throw error;
  }
  return {
    url: node.url ?? '',
    apiKey,
    mode,
    env,
    stop: () => tearDown([() => node.close(), ...release()]),
  };
}
