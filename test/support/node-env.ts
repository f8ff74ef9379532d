import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { startNode, type NodeRoles, type RunningNode } from '../../src/main/node.js';
import { silentLogger } from './logger.js';

/** What every Engram a test starts has of its own: a bootstrap key and a data folder. */
export interface TestNodeBase {
  readonly apiKey: string;
  readonly dataDir: string;
  /** The environment of such a node: a port of the system's choice on loopback, no logs. */
  readonly env: Record<string, string>;
}

export async function testNodeBase(folderPrefix: string): Promise<TestNodeBase> {
  const apiKey = `test-key-${randomUUID()}`;
  const dataDir = await mkdtemp(join(tmpdir(), folderPrefix));
  return {
    apiKey,
    dataDir,
    env: { PORT: '0', HOST: '127.0.0.1', ENGRAM_API_KEY: apiKey, ENGRAM_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
  };
}

/** Starts Engram in this process from an environment, as the CLI would, reading no secret files. */
export function startNodeFromEnv(env: Record<string, string>, roles: NodeRoles): Promise<RunningNode> {
  const dataDir = env['ENGRAM_DATA_DIR'] ?? tmpdir();
  return startNode(loadConfig(env, { secretsDir: join(dataDir, 'no-secrets') }), roles, silentLogger());
}
