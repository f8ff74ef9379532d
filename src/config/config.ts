import type { PiiEntityType } from '../domain/pii.js';

export type DatabaseConfig =
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly poolSize: number;
      /**
       * How long a statement may run before the server cancels it and PostgreSQL counts as
       * unavailable, in ms; 0 for no limit. Default 30,000 (ENGRAM_DB_STATEMENT_TIMEOUT_MS).
       */
      readonly statementTimeoutMs: number;
    }
  | { readonly kind: 'pglite' };

export type QueueConfig = { readonly kind: 'redis'; readonly url: string } | { readonly kind: 'in-process' };

/**
 * Where vectors live. `requestTimeoutMs`: how long one Chroma request may take before Chroma counts
 * as unavailable; default 10,000 (ENGRAM_CHROMA_TIMEOUT_MS).
 */
export type VectorStoreConfig =
  | { readonly kind: 'chroma'; readonly url: string; readonly requestTimeoutMs: number }
  | { readonly kind: 'embedded-chroma'; readonly requestTimeoutMs: number };

/** The `sslmode` values of a DATABASE_URL, as libpq reads them (see postgresConnection). */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/** Where and how the bundled model computes (ENGRAM_EMBED_RUNTIME); see UseLiteRuntime. */
export const EMBED_RUNTIMES = ['onnx-int8', 'onnx', 'tfjs'] as const;
export type EmbedRuntime = (typeof EMBED_RUNTIMES)[number];

export type EmbedderConfig =
  | {
      readonly kind: 'use-lite';
      /**
       * Worker threads of the writes' model; 0 runs it on the main thread. Default 1
       * (ENGRAM_EMBED_THREADS).
       */
      readonly threads: number;
      /**
       * Worker threads of the search queries' model; 0 runs it on the thread serving the API.
       * Default 0, 1 with the `tfjs` runtime (ENGRAM_QUERY_EMBED_THREADS).
       */
      readonly queryThreads: number;
      /** `onnx-int8` (the default), `onnx` or `tfjs` (ENGRAM_EMBED_RUNTIME). */
      readonly runtime: EmbedRuntime;
    }
  | {
      readonly kind: 'openai';
      readonly url: string;
      readonly model: string;
      readonly apiKey: string | null;
      /** Longest text sent, in UTF-16 code units; the rest is cut (ENGRAM_EMBED_MAX_CHARS). */
      readonly maxTextChars: number;
    };

export interface PiiConfig {
  readonly mode: 'redact' | 'off';
  /** The entity types replaced by placeholders; all types are always detected. */
  readonly entities: readonly PiiEntityType[];
}

export interface HttpConfig {
  readonly host: string;
  readonly port: number;
  /** Largest accepted request body in bytes. Default 1 MiB. */
  readonly bodyLimitBytes: number;
  /** Requests per minute allowed for one API key. Default 6,000. */
  readonly rateLimitPerMinute: number;
  /** Origins allowed by CORS; empty (the default) turns CORS off. */
  readonly corsOrigins: readonly string[];
  /** Requests handled at once (health and metrics aside); more are shed with 503 `overloaded`. Default 1,024. */
  readonly maxInFlightRequests: number;
  /** Longest a request may take to arrive whole, in ms; 0 for no limit. Default 120,000. */
  readonly requestTimeoutMs: number;
  /** Accepted writes not yet stored; beyond it new writes are shed with 503 `overloaded`. Default 100,000. */
  readonly maxPendingWrites: number;
}

export interface WorkerConfig {
  /** Jobs one worker process runs at once. Default 4. */
  readonly concurrency: number;
  /** A pending task untouched this long is driven again by recovery. Default 30 s. */
  readonly recoverAfterMs: number;
  /**
   * How often a worker compares the stores and repairs drift (as `engram doctor --fix` does);
   * 0, the default, leaves it to the operator: every worker would run it, and it lists every user.
   */
  readonly reconcileIntervalMs: number;
  /**
   * How long a finished write task stays readable (`GET /tasks/{id}`) before a worker forgets it,
   * in ms; 0 keeps every task. Default 7 days. Tasks with an idempotency key are kept.
   */
  readonly taskRetentionMs: number;
}

export interface EngramConfig {
  readonly http: HttpConfig;
  readonly bootstrapApiKey: string | null;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly queue: QueueConfig;
  readonly vectorStore: VectorStoreConfig;
  readonly embedder: EmbedderConfig;
  readonly pii: PiiConfig;
  readonly worker: WorkerConfig;
  readonly logLevel: string;
}
