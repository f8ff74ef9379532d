import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { DEFAULT_PII_ENTITY_TYPES, isPiiEntityType, PII_ENTITY_TYPES, type PiiEntityType } from '../domain/pii.js';
import { DomainError } from '../domain/errors.js';
import { EMBED_RUNTIMES, type EngramConfig, type EmbedderConfig } from './config.js';
import { readSecret, type Env, type SecretSources } from './secrets.js';
import { postgresUrlProblem, redisUrlProblem } from './url-checks.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const HOUR_MS = 3_600_000;

/** A configuration that cannot run; the message names every bad variable at once. */
export class ConfigError extends DomainError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('invalid_input', 'invalid_config', `invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      details: problems,
    });
    this.problems = problems;
  }
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly sources: SecretSources) {}

  text(name: string): string | undefined {
    const value = this.sources.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  secret(name: string): string | undefined {
    const found = readSecret(name, this.sources);
    if ('error' in found) {
      this.problems.push(found.error);
      return undefined;
    }
    return found.value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
    return fallback;
  }

  /**
   * A comma list of origins as a browser sends them (`https://app.example.com`, with a port if
   * any): CORS compares them as strings, so a `*`, a path or a trailing slash would match nothing.
   */
  origins(name: string): string[] {
    const origins = (this.text(name) ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== '');
    for (const origin of origins) {
      if (!isOrigin(origin)) this.problems.push(`${name}: "${origin}" is not an origin such as https://app.example.com (scheme, host and port only)`);
    }
    return origins;
  }

  /**
   * A URL of one of `protocols`; `check` names what else is wrong with it, if anything. The value
   * may hold a password: problems name the variable and the part at fault, never the value.
   */
  url(name: string, value: string | undefined, protocols: readonly string[], check?: (url: URL) => string | null): string | undefined {
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.problems.push(`${name}: not a valid URL`);
      return value;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name}: expected a ${protocols.join(' or ')} URL, got protocol "${parsed.protocol}"`);
      return value;
    }
    const problem = check?.(parsed) ?? null;
    if (problem !== null) this.problems.push(`${name}: ${problem}`);
    return value;
  }
}

/** An address to listen on: an IP address or a host name (letters, digits, dots and hyphens). */
function listenHost(reader: Reader): string {
  const host = reader.text('HOST') ?? '127.0.0.1';
  if (isIP(host) === 0 && !/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/.test(host)) {
    reader.problems.push(`HOST: expected an IP address or a host name, got "${host}"`);
  }
  return host;
}

/** What a client can send as X-API-Key: 1-256 visible ASCII characters (see ApiKeyService). */
function bootstrapApiKey(reader: Reader): string | null {
  const key = reader.secret('ENGRAM_API_KEY');
  if (key === undefined) return null;
  if (!/^[\x21-\x7e]{1,256}$/.test(key)) {
    // Never the key itself: only what is wrong with it.
    reader.problems.push('ENGRAM_API_KEY: expected 1 to 256 visible ASCII characters, without spaces (a client sends it as X-API-Key)');
  }
  return key;
}

function piiEntities(reader: Reader): readonly PiiEntityType[] {
  const raw = reader.text('ENGRAM_PII_ENTITIES');
  if (raw === undefined) return DEFAULT_PII_ENTITY_TYPES;
  if (raw.toLowerCase() === 'all') return PII_ENTITY_TYPES;
  if (raw.toLowerCase() === 'identifiers') return DEFAULT_PII_ENTITY_TYPES;
  const names = raw.split(',').map((name) => name.trim().toUpperCase()).filter((name) => name !== '');
  if (names.length === 0) {
    // An empty list would redact nothing: ENGRAM_PII=off says that plainly.
    reader.problems.push('ENGRAM_PII_ENTITIES: names no type; list types, or set ENGRAM_PII=off to redact nothing');
    return DEFAULT_PII_ENTITY_TYPES;
  }
  const unknown = names.filter((name) => !isPiiEntityType(name));
  if (unknown.length > 0) {
    reader.problems.push(
      `ENGRAM_PII_ENTITIES: unknown type(s) ${unknown.join(', ')}; choose from ${PII_ENTITY_TYPES.join(', ')} or "all"`,
    );
    return DEFAULT_PII_ENTITY_TYPES;
  }
  return [...new Set(names)].filter(isPiiEntityType);
}

function embedder(reader: Reader): EmbedderConfig {
  const kind = reader.oneOf('ENGRAM_EMBEDDER', ['use-lite', 'openai'] as const, 'use-lite');
  if (kind === 'use-lite') {
    const runtime = reader.oneOf('ENGRAM_EMBED_RUNTIME', EMBED_RUNTIMES, 'onnx-int8');
    // Writes' batches get a thread of their own: on the main thread each would stall the API for
    // its length. A query on ONNX Runtime is one model call of about a millisecond, cheaper where
    // the API runs than a hop to a thread gone idle (see docs/performance.md); on TF.js it takes
    // ten times as long, and goes to a thread.
    return {
      kind,
      threads: reader.integer('ENGRAM_EMBED_THREADS', 1, 0, 16),
      queryThreads: reader.integer('ENGRAM_QUERY_EMBED_THREADS', runtime === 'tfjs' ? 1 : 0, 0, 16),
      runtime,
    };
  }
  const url = reader.url('ENGRAM_EMBED_URL', reader.text('ENGRAM_EMBED_URL'), ['http:', 'https:']);
  const model = reader.text('ENGRAM_EMBED_MODEL');
  if (url === undefined) reader.problems.push('ENGRAM_EMBED_URL: required when ENGRAM_EMBEDDER=openai');
  if (model === undefined) reader.problems.push('ENGRAM_EMBED_MODEL: required when ENGRAM_EMBEDDER=openai');
  return {
    kind,
    url: url ?? '',
    model: model ?? '',
    apiKey: reader.secret('ENGRAM_EMBED_API_KEY') ?? null,
    // A server that refuses longer input (TEI answers 413 past its model's 512 tokens unless told to
    // cut) would fail those writes for good: the text is cut here, for writes and queries alike.
    maxTextChars: reader.integer('ENGRAM_EMBED_MAX_CHARS', 8_192, 16, 1_000_000),
  };
}

export interface LoadConfigOptions {
  /** Folder of Docker secrets. Default `/run/secrets`. */
  readonly secretsDir?: string;
  /** Folder that relative paths are resolved against. Default the process's working directory. */
  readonly cwd?: string;
}

/**
 * Reads the environment once into a frozen, typed configuration. Nothing else reads process.env.
 * Throws ConfigError listing every problem found.
 */
export function loadConfig(env: Env, options: LoadConfigOptions = {}): EngramConfig {
  const reader = new Reader({ env, secretsDir: options.secretsDir ?? '/run/secrets' });
  const cwd = options.cwd ?? process.cwd();

  const databaseUrl = reader.url('DATABASE_URL', reader.secret('DATABASE_URL'), ['postgres:', 'postgresql:'], postgresUrlProblem);
  const redisUrl = reader.url('REDIS_URL', reader.secret('REDIS_URL'), ['redis:', 'rediss:'], redisUrlProblem);
  const chromaUrl = reader.url('CHROMA_URL', reader.text('CHROMA_URL'), ['http:', 'https:']);
  const chromaTimeoutMs = reader.integer('ENGRAM_CHROMA_TIMEOUT_MS', 10_000, 100, 600_000);
  const corsOrigins = reader.origins('ENGRAM_CORS_ORIGINS');

  const config: EngramConfig = {
    http: {
      host: listenHost(reader),
      port: reader.integer('PORT', 8080, 0, 65_535),
      bodyLimitBytes: reader.integer('ENGRAM_BODY_LIMIT_BYTES', 1_048_576, 1_024, 104_857_600),
      rateLimitPerMinute: reader.integer('ENGRAM_RATE_LIMIT_PER_MINUTE', 6_000, 1, 10_000_000),
      corsOrigins,
      maxInFlightRequests: reader.integer('ENGRAM_MAX_IN_FLIGHT_REQUESTS', 1_024, 1, 1_000_000),
      requestTimeoutMs: reader.integer('ENGRAM_REQUEST_TIMEOUT_MS', 120_000, 0, 3_600_000),
      maxPendingWrites: reader.integer('ENGRAM_MAX_PENDING_WRITES', 100_000, 1, 1_000_000_000),
    },
    bootstrapApiKey: bootstrapApiKey(reader),
    dataDir: resolve(cwd, reader.text('ENGRAM_DATA_DIR') ?? '.engram'),
    database:
      databaseUrl === undefined
        ? { kind: 'pglite' }
        : {
            kind: 'postgres',
            url: databaseUrl,
            poolSize: reader.integer('ENGRAM_DB_POOL_SIZE', 10, 1, 200),
            statementTimeoutMs: reader.integer('ENGRAM_DB_STATEMENT_TIMEOUT_MS', 30_000, 0, 86_400_000),
          },
    queue: redisUrl === undefined ? { kind: 'in-process' } : { kind: 'redis', url: redisUrl },
    vectorStore:
      chromaUrl === undefined
        ? { kind: 'embedded-chroma', requestTimeoutMs: chromaTimeoutMs }
        : { kind: 'chroma', url: chromaUrl, requestTimeoutMs: chromaTimeoutMs },
    embedder: embedder(reader),
    pii: { mode: reader.oneOf('ENGRAM_PII', ['redact', 'off'] as const, 'redact'), entities: piiEntities(reader) },
    worker: {
      concurrency: reader.integer('ENGRAM_WORKER_CONCURRENCY', 4, 1, 256),
      recoverAfterMs: reader.integer('ENGRAM_RECOVER_AFTER_MS', 30_000, 1_000, 86_400_000),
      reconcileIntervalMs: reader.integer('ENGRAM_RECONCILE_INTERVAL_MS', 0, 0, 86_400_000),
      taskRetentionMs: reader.integer('ENGRAM_TASK_RETENTION_HOURS', 168, 0, 87_600) * HOUR_MS,
    },
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * `engram serve` and `engram worker` run beside each other, in processes of their own: they share
 * the stores and the queue only through the URLs. Without one, the API would accept writes into a
 * queue or a database no worker reads. Throws ConfigError naming every missing variable.
 */
export function checkDistributed(config: EngramConfig, command: 'serve' | 'worker'): void {
  const missing = [
    config.database.kind === 'postgres' ? null : 'DATABASE_URL',
    config.queue.kind === 'redis' ? null : 'REDIS_URL',
    config.vectorStore.kind === 'chroma' ? null : 'CHROMA_URL',
  ].filter((name) => name !== null);
  if (missing.length === 0) return;
  throw new ConfigError(
    missing.map((name) => `${name} is required by engram ${command} (distributed mode); engram start runs everything in one process`),
  );
}
