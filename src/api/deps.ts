import type { Logger } from '../ports/logger.js';
import type { ApiKeyService } from '../services/api-keys.js';
import type { MemoryEraser } from '../services/forget-memories.js';
import type { HealthCheck } from '../services/health.js';
import type { MemoryReader } from '../services/read-memories.js';
import type { MemorySearch } from '../services/search-memories.js';
import type { WriteAcceptor } from '../services/accept-writes.js';
import type { Metrics } from './metrics.js';

/** Everything the HTTP layer calls: services only, never a store. */
export interface ApiDeps {
  readonly apiKeys: ApiKeyService;
  readonly writes: WriteAcceptor;
  readonly search: MemorySearch;
  readonly reader: MemoryReader;
  readonly eraser: MemoryEraser;
  readonly health: HealthCheck;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface ApiOptions {
  /** Largest request body in bytes (a batch may be up to 4 times as large). Default 1 MiB. */
  readonly bodyLimitBytes: number;
  /** Requests per minute per API key (or per address without one). */
  readonly rateLimitPerMinute: number;
  /** Origins allowed by CORS; empty turns CORS off. */
  readonly corsOrigins: readonly string[];
  /** Requests handled at once; more get 503 `overloaded`. Default 1,024. */
  readonly maxInFlightRequests?: number;
  /** Longest a request may take to arrive whole, headers and body, in ms; 0 for no limit. Default 120,000. */
  readonly requestTimeoutMs?: number;
}
