import { DomainError } from '../../domain/errors.js';

export interface VectorStoreErrorOptions {
  /** The HTTP status Chroma answered with, if it answered. */
  readonly status?: number;
  readonly details?: unknown;
  readonly cause?: unknown;
  /** Default: true for a 5xx status only. */
  readonly retryable?: boolean;
}

/**
 * Chroma rejected a request that Engram built: a defect on our side (or a server-side fault for a
 * 5xx), never the caller's input. Only server-side faults are worth retrying.
 */
export class VectorStoreError extends DomainError {
  constructor(message: string, options: VectorStoreErrorOptions = {}) {
    // A 5xx is Chroma failing, not us: the caller gets 503 and Retry-After, like any outage.
    super((options.status ?? 0) >= 500 ? 'unavailable' : 'internal', 'vector_store_error', message, {
      details: { status: options.status ?? null, ...toRecord(options.details) },
      cause: options.cause,
      retryable: options.retryable ?? (options.status ?? 0) >= 500,
    });
  }
}

/** The embedded Chroma child process did not come up. */
export class ChromaStartFailedError extends DomainError {
  constructor(message: string, outputTail: readonly string[], cause?: unknown) {
    super('unavailable', 'chroma_start_failed', message, {
      details: { output: outputTail },
      cause,
      retryable: false,
    });
  }
}

function toRecord(details: unknown): Record<string, unknown> {
  return typeof details === 'object' && details !== null ? { ...details } : {};
}
