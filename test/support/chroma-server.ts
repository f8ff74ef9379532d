import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromaServerConfig } from '../../src/adapters/chroma/server-config.js';
import { freePort, waitFor } from './free-port.js';

/**
 * A Chroma server of the test's own (`chroma run` from the npm package) on a free loopback port,
 * configured as Engram configures the Chroma it runs.
 */
export interface TestChroma {
  readonly url: string;
  /** The folder of Chroma's files. */
  readonly dataPath: string;
  /** The server's process id; null while it is paused. */
  pid(): number | null;
  stop(): Promise<void>;
  /** Stops the server, keeping its data; `start` brings it back on the same port. */
  pause(): Promise<void>;
  start(): Promise<void>;
}

const chromaBin = join(process.cwd(), 'node_modules', '.bin', 'chroma');

export async function startTestChroma(): Promise<TestChroma> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'engram-chroma-'));
  let child: ChildProcess | null = null;
  const url = `http://127.0.0.1:${port}`;

  const configFile = join(dir, 'chroma-server.yaml');
  await writeFile(configFile, chromaServerConfig({ persistPath: join(dir, 'data'), listenAddress: '127.0.0.1', port }));

  const start = async (): Promise<void> => {
    child = spawn(chromaBin, ['run', configFile], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`${url}/api/v2/heartbeat`)).ok, 20_000, `chroma on ${port}`);
  };
  const pause = async (): Promise<void> => {
    const running = child;
    child = null;
    if (running === null || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };

  await start();
  return {
    url,
    dataPath: join(dir, 'data'),
    pid: () => (child === null ? null : (child as ChildProcess).pid ?? null),
    start,
    pause,
    async stop() {
      await pause();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
