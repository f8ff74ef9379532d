import type { RedisOptions } from 'ioredis';
import { ValidationError } from '../../domain/errors.js';

/** Where Redis is and how to log in: the parts of a Redis URL, ready for ioredis. */
export type RedisEndpoint = Pick<RedisOptions, 'host' | 'port' | 'username' | 'password' | 'db' | 'tls'>;

/**
 * Reads `redis://[user]:password@host:port[/db]`, or `rediss://` for TLS. Errors never repeat the
 * URL, since it carries the password.
 */
export function parseRedisUrl(redisUrl: string): RedisEndpoint {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    throw invalid('it is not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw invalid('the scheme must be redis:// or rediss://');
  if (url.hostname === '') throw invalid('it names no host');
  const dbPath = url.pathname.replace(/^\//, '');
  if (dbPath !== '' && !/^\d+$/.test(dbPath)) throw invalid('the path must be a database number');
  // Brackets of an IPv6 literal belong to the URL, not to the address a socket connects to.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const endpoint: RedisEndpoint = {
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    db: dbPath === '' ? 0 : Number(dbPath),
  };
  if (url.username !== '') endpoint.username = decodeURIComponent(url.username);
  if (url.password !== '') endpoint.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') endpoint.tls = { servername: host };
  return endpoint;
}

function invalid(reason: string): ValidationError {
  return new ValidationError(`REDIS_URL is invalid: ${reason}`);
}
