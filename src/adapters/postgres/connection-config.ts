import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import { SSL_MODES } from '../../config/config.js';
import { postgresUrlProblem } from '../../config/url-checks.js';
import { ValidationError } from '../../domain/errors.js';

/** URL parameters that decide TLS here rather than in the driver, whose reading differs from libpq's. */
const TLS_PARAMETERS = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslnegotiation', 'uselibpqcompat'];

/** A connection's settings as the driver takes them: spread into a pool's or a client's options. */
export interface PostgresConnection {
  /** The URL without its TLS parameters: the driver would otherwise override `ssl` with them. */
  readonly connectionString: string;
  /** False for a plain connection. */
  readonly ssl: false | ConnectionOptions;
}

/**
 * Reads `sslmode` the way libpq documents it, as far as a driver without fallback can: `disable`
 * (and no `sslmode`) connects in plain text, `allow` and `prefer` are refused (libpq would try TLS
 * first, this driver cannot fall back); `require` encrypts without checking the
 * certificate, or checks it as `verify-ca` when a CA file is named; `verify-ca` checks it against
 * the CA file, which it needs; `verify-full` also checks the host name. The CA comes from
 * `sslrootcert` in the URL, else `caFile`; `verify-full` without one (or with `system`) trusts the
 * system's roots. What postgresUrlProblem names is refused.
 */
export async function postgresConnection(url: string, caFile?: string): Promise<PostgresConnection> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError('DATABASE_URL is not a valid URL');
  }
  const problem = postgresUrlProblem(parsed, caFile);
  if (problem !== null) throw new ValidationError(`DATABASE_URL: ${problem}`);
  // A file to trust; none for the system's roots.
  const caPath = parsed.searchParams.get('sslrootcert') ?? caFile;
  const caFilePath = caPath === undefined || caPath === '' || caPath === 'system' ? null : caPath;
  const asked = parsed.searchParams.get('sslmode') ?? 'disable';
  const sslmode = asked === 'require' && caFilePath !== null ? 'verify-ca' : asked;
  for (const name of TLS_PARAMETERS) parsed.searchParams.delete(name);
  const connectionString = parsed.toString();

  switch (sslmode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      return { connectionString, ssl: false };
    case 'require':
      return { connectionString, ssl: { rejectUnauthorized: false } };
    case 'verify-ca':
      return {
        connectionString,
        ssl: { rejectUnauthorized: true, ...(await trustedRoots(caFilePath)), checkServerIdentity: () => undefined },
      };
    case 'verify-full':
      return { connectionString, ssl: { rejectUnauthorized: true, ...(await trustedRoots(caFilePath)) } };
    default:
      throw new ValidationError(`sslmode "${sslmode}" in DATABASE_URL is not one of ${SSL_MODES.join(', ')}`);
  }
}

async function trustedRoots(caPath: string | null): Promise<{ ca?: string }> {
  if (caPath === null) return {};
  try {
    return { ca: await readFile(caPath, 'utf8') };
  } catch (error) {
    throw new ValidationError(`cannot read the PostgreSQL CA certificate file ${caPath}`, {
      reason: error instanceof Error ? error.message : String(error),
    });
  }
}
