import { SSL_MODES } from './config.js';

/**
 * What is wrong with a URL beyond its scheme, told by the configuration at start and by the
 * adapter that reads the same URL: one check, so that they never disagree. Null when nothing is.
 */
export function postgresUrlProblem(url: URL, caFile?: string): string | null {
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode !== null && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    return `sslmode "${sslmode}" is not one of ${SSL_MODES.join(', ')}`;
  }
  // The driver's own `ssl=true` would otherwise be dropped for a plain connection without a word.
  if (url.searchParams.has('ssl')) return 'the ssl parameter is not read here: name sslmode=require, verify-ca or verify-full';
  // libpq tries TLS first for these; a driver without fallback would connect in plain text unasked.
  if (sslmode === 'prefer' || sslmode === 'allow') {
    return `sslmode=${sslmode} would connect in plain text here: name sslmode=require, verify-ca or verify-full, or disable`;
  }
  const rootCert = url.searchParams.get('sslrootcert') ?? caFile ?? '';
  // As libpq: the system's roots vouch for any host they signed, so only a host name check makes them safe.
  if (rootCert === 'system' && sslmode !== 'verify-full') return 'sslrootcert=system needs sslmode=verify-full';
  if (sslmode === 'verify-ca' && rootCert === '') return 'sslmode=verify-ca needs sslrootcert naming the CA certificate file';
  return null;
}

/** See postgresUrlProblem; parseRedisUrl refuses what this names. */
export function redisUrlProblem(url: URL): string | null {
  if (url.hostname === '') return 'it names no host';
  const database = url.pathname.replace(/^\//, '');
  if (database !== '' && !/^\d+$/.test(database)) return 'the path must be a database number';
  // Only `ca` is read: another (`tls=true`, say) would be dropped without a word.
  const unread = [...url.searchParams.keys()].find((name) => name !== 'ca');
  if (unread !== undefined) return `the ${unread} parameter is not read here: rediss:// for TLS, ca=FILE for a private CA`;
  if (url.searchParams.has('ca') && url.protocol !== 'rediss:') return 'the ca parameter needs rediss://';
  if (url.searchParams.get('ca') === '') return 'the ca parameter names no file';
  if (!isDecodable(url.username) || !isDecodable(url.password)) return 'its user or password holds a % that is not an escape (write %25)';
  // The queue's Redis takes jobs from whoever reaches it: one without a password lets any host on
  // its network drop or forge Engram's jobs.
  if (url.password === '') return 'it names no password: the queue needs a Redis that requires one (redis://:password@host:port)';
  return null;
}

function isDecodable(part: string): boolean {
  try {
    decodeURIComponent(part);
    return true;
  } catch {
    return false;
  }
}
