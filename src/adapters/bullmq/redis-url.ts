import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import { redisUrlProblem } from '../../config/url-checks.js';
import { ValidationError } from '../../domain/errors.js';

/** Where Redis is and how to log in: the parts of a Redis URL, ready for ioredis. */
export type RedisEndpoint = Pick<RedisOptions, 'host' | 'port' | 'username' | 'password' | 'db' | 'tls'>;

/**
 * Reads `redis://[user]:password@host:port[/db]`, or `rediss://` for TLS. Errors never repeat the
 * URL, since it carries the password.
 *
 * Over TLS the server's certificate must name the host and be signed by a trusted root: the
 * system's, or only the CA certificate (PEM) in the file named by the `ca` parameter, as in
 * `rediss://:password@redis:6380?ca=/run/secrets/redis_ca_crt`. The file is read here, once.
 */
export function parseRedisUrl(redisUrl: string): RedisEndpoint {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    throw invalid('it is not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw invalid('the scheme must be redis:// or rediss://');
  const problem = redisUrlProblem(url);
  if (problem !== null) throw invalid(problem);
  const dbPath = url.pathname.replace(/^\//, '');
  // Brackets of an IPv6 literal belong to the URL, not to the address a socket connects to.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const endpoint: RedisEndpoint = {
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    db: dbPath === '' ? 0 : Number(dbPath),
  };
  if (url.username !== '') endpoint.username = decodeURIComponent(url.username);
  if (url.password !== '') endpoint.password = decodeURIComponent(url.password);
  const caPath = url.searchParams.get('ca');
  if (url.protocol === 'rediss:') {
    const tls: ConnectionOptions = {};
    // SNI carries host names only; Node warns when given an IP address.
    if (isIP(host) === 0) tls.servername = host;
    if (caPath !== null) tls.ca = readCaFile(caPath);
    endpoint.tls = tls;
  }
  return endpoint;
}

function readCaFile(path: string): string {
  if (path === '') throw invalid('the ca parameter names no file');
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(`REDIS_URL is invalid: cannot read the CA certificate file ${path}`, {
      reason: error instanceof Error ? error.message : String(error),
    });
  }
}

function invalid(reason: string): ValidationError {
  return new ValidationError(`REDIS_URL is invalid: ${reason}`);
}
