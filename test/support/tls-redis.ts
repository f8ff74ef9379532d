import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { ServerCertificate } from './certificates.js';
import { freePort, portAnswers } from './free-port.js';

/**
 * A password-protected redis-server of the test's own that listens only for TLS (`--port 0`), on a
 * free loopback port, keeping nothing on disk. Clients need not present a certificate.
 */
export interface TlsRedis {
  readonly port: number;
  readonly password: string;
  /** `<scheme>://:<password>@<host>:<port>` with the given query parameters. */
  url(scheme: 'redis' | 'rediss', params?: Record<string, string>, host?: string): string;
  /** Stops the server. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startTlsRedis(certificate: ServerCertificate, caFile: string): Promise<TlsRedis> {
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  let log = '';
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port', '0',
      '--tls-port', String(port),
      '--bind', '127.0.0.1',
      '--tls-cert-file', certificate.certFile,
      '--tls-key-file', certificate.keyFile,
      '--tls-ca-cert-file', caFile,
      '--tls-auth-clients', 'no',
      '--requirepass', password,
      '--save', '',
      '--appendonly', 'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keepLog = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keepLog);
  child.stderr?.on('data', keepLog);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    })();
    return stopping;
  };

  const deadline = Date.now() + 10_000;
  while (!(await portAnswers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      // A redis-server built without TLS says so here ("TLS is not supported" / unknown option).
      throw new Error(`redis-server did not start with TLS on ${port}:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    port,
    password,
    url(scheme, params = {}, host = 'localhost') {
      const url = new URL(`${scheme}://:${password}@${host}:${port}`);
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return url.toString();
    },
    stop,
  };
}
