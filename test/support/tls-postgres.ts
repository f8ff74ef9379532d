import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, appendFile, chmod, chown, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { ServerCertificate } from './certificates.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Where Debian puts the PostgreSQL 15 server; override with TEST_POSTGRES_BIN. */
const POSTGRES_BIN = process.env['TEST_POSTGRES_BIN'] ?? '/usr/lib/postgresql/15/bin';
/** The system user that runs the server when the tests run as root, which PostgreSQL refuses to be. */
const SERVER_USER = 'postgres';

/**
 * A throwaway PostgreSQL cluster of the test's own on 127.0.0.1 that speaks only TLS: pg_hba
 * trusts `hostssl` connections and rejects `hostnossl` ones.
 */
export interface TlsPostgres {
  readonly port: number;
  /** `postgres://postgres@<host>:<port>/postgres` with the given query parameters (e.g. sslmode). */
  url(params: Record<string, string>, host?: string): string;
  /** Stops the server (fast shutdown) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

interface Account {
  readonly uid: number;
  readonly gid: number;
}

async function serverAccount(): Promise<Account | null> {
  if (process.getuid?.() !== 0) return null;
  const [uid, gid] = await Promise.all([run('id', ['-u', SERVER_USER]), run('id', ['-g', SERVER_USER])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs a PostgreSQL program, as the server user when we are root. */
function serverCommand(account: Account | null, program: string, args: readonly string[]): [string, string[]] {
  const path = join(POSTGRES_BIN, program);
  if (account === null) return [path, [...args]];
  // setpriv execs the program itself, so the PID we hold is the server's own.
  return ['setpriv', [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', path, ...args]];
}

export async function startTlsPostgres(certificate: ServerCertificate): Promise<TlsPostgres> {
  await access(join(POSTGRES_BIN, 'postgres')).catch(() => {
    throw new Error(`no PostgreSQL server at ${POSTGRES_BIN} (set TEST_POSTGRES_BIN)`);
  });
  const account = await serverAccount();
  const root = await mkdtemp(join(tmpdir(), 'engram-tls-postgres-'));
  let child: ChildProcess | null = null;
  let stopping: Promise<void> | null = null;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const running = child;
      if (running !== null && running.exitCode === null && running.signalCode === null) {
        const exited = once(running, 'exit');
        // SIGINT is PostgreSQL's fast shutdown: sessions are ended and the server exits cleanly.
        running.kill('SIGINT');
        const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(root, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const dataDir = join(root, 'data');
    const socketDir = join(root, 'socket');
    const certFile = join(root, 'server.crt');
    const keyFile = join(root, 'server.key');
    await mkdir(socketDir);
    // The server reads its own copies: the key must belong to the server's user with mode 0600.
    await copyFile(certificate.certFile, certFile);
    await copyFile(certificate.keyFile, keyFile);
    await chmod(keyFile, 0o600);
    if (account !== null) {
      for (const path of [root, socketDir, certFile, keyFile]) await chown(path, account.uid, account.gid);
    }

    const [initdb, initdbArgs] = serverCommand(account, 'initdb', [
      '-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync',
    ]);
    try {
      await run(initdb, initdbArgs, { env: { PATH: process.env['PATH'] ?? '', LC_ALL: 'C' } });
    } catch (error) {
      const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
      throw new Error(`initdb failed: ${stderr || String(error)}`, { cause: error });
    }

    const port = await freePort();
    await appendFile(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${socketDir}'`,
        'ssl = on',
        `ssl_cert_file = '${certFile}'`,
        `ssl_key_file = '${keyFile}'`,
        // A throwaway cluster: nothing is worth waiting for the disk.
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(dataDir, 'pg_hba.conf'),
      [
        'local     all all              trust',
        'hostssl   all all 127.0.0.1/32 trust',
        'hostnossl all all 0.0.0.0/0    reject',
        '',
      ].join('\n'),
    );

    const [postgres, postgresArgs] = serverCommand(account, 'postgres', ['-D', dataDir]);
    const started = spawn(postgres, postgresArgs, { stdio: ['ignore', 'ignore', 'pipe'], env: { LC_ALL: 'C' } });
    child = started;
    let log = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-4_000);
    });
    await untilAccepting(port, started, () => log);

    return {
      port,
      url(params, host = '127.0.0.1') {
        const url = new URL(`postgres://postgres@${host}:${port}/postgres`);
        for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
        return url.toString();
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits until the server answers a TLS login, failing at once with its log if it exits first. */
async function untilAccepting(port: number, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`postgres exited before accepting connections:\n${log()}`);
    }
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', ssl: { rejectUnauthorized: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for postgres on ${port}:\n${log()}`);
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
