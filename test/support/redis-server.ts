import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort, portAnswers, waitFor } from './free-port.js';

/** A password-protected redis-server of the test's own, on a free loopback port, keeping nothing on disk. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly password: string;
  /** The server's process id; null while it is down. */
  pid(): number | null;
  /** Stops the server (SIGKILL when `crash`) and starts a new, empty one on the same port. */
  restartEmpty(): Promise<void>;
  /** Kills the server and keeps it down until `start`, which brings up an empty one on the same port. */
  crash(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await waitFor(() => portAnswers(port), 10_000, `redis on ${port}`);
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = null;
    if (running === null || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };

  await launch();
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    password,
    pid: () => (child === null ? null : (child as ChildProcess).pid ?? null),
    async restartEmpty() {
      await kill();
      await launch();
    },
    crash: kill,
    start: launch,
    stop: kill,
  };
}
