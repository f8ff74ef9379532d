/**
 * Every failure Engram reports has a stable machine-readable code. Errors know nothing of HTTP:
 * the API's error mapper turns a kind into a status, and anything unexpected into a generic 500.
 */
export type ErrorKind =
  | 'invalid_input'
  | 'unauthenticated'
  | 'not_found'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'conflict'
  | 'internal';

export interface DomainErrorOptions {
  readonly details?: unknown;
  readonly cause?: unknown;
  /** Whether trying the same operation again later may succeed. Defaults by kind. */
  readonly retryable?: boolean;
}

export class DomainError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: unknown;
  readonly retryable: boolean;

  constructor(kind: ErrorKind, code: string, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
    this.details = options.details;
    this.retryable = options.retryable ?? kind === 'unavailable';
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, details?: unknown) {
    super('invalid_input', 'invalid_input', message, { details });
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('not_found', 'not_found', `${what} was not found`);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'a valid X-API-Key header is required') {
    super('unauthenticated', 'unauthenticated', message);
  }
}

/** A store, queue or model that Engram depends on cannot be reached right now. */
export class DependencyUnavailableError extends DomainError {
  readonly dependency: string;
  constructor(dependency: string, cause?: unknown) {
    super('unavailable', 'dependency_unavailable', `${dependency} is unavailable`, {
      cause,
      details: { dependency },
    });
    this.dependency = dependency;
  }
}

/** The vectors already stored were made by another embedding model than the configured one. */
export class EmbeddingModelMismatchError extends DomainError {
  constructor(stored: string, configured: string) {
    super(
      'conflict',
      'embedding_model_mismatch',
      `stored vectors were made by "${stored}" but the configured embedder is "${configured}"; ` +
        'use the same ENGRAM_EMBEDDER settings or a fresh data store',
      { details: { stored, configured }, retryable: false },
    );
  }
}

/** The vector store holds the vectors of another metadata store: another deployment's, or a lost database's. */
export class VectorStoreInUseError extends DomainError {
  constructor(bound: string, starting: string) {
    super(
      'conflict',
      'vector_store_in_use',
      `the vector store belongs to another Engram database (store ${bound}, not ${starting}); ` +
        'give each deployment a Chroma of its own, or start from an empty one',
      { details: { bound, starting }, retryable: false },
    );
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** Engram has more work than it can take right now: shed it rather than grow without bound. */
export class OverloadedError extends DomainError {
  constructor(reason: string, details?: unknown) {
    super('unavailable', 'overloaded', `engram is overloaded (${reason}); try again shortly`, { details });
  }
}

/** A client sent more than its share: it may try again once its window has passed. */
export class RateLimitedError extends DomainError {
  constructor(message = 'too many requests; slow down') {
    super('rate_limited', 'rate_limited', message);
  }
}

/**
 * A worker's answer for a job it took and never started, as it stops: the queue hands the job on
 * as it was, with no attempt counted, rather than wait for the worker to run everything it holds.
 */
export class JobHandedBackError extends DomainError {
  constructor() {
    super('unavailable', 'job_handed_back', 'the worker is stopping and did not start this job');
  }
}

/**
 * The database gave up one transaction for another's (a deadlock, a serialization failure): it
 * was rolled back whole, and a new try is expected to pass.
 */
export class ConcurrentChangeError extends DomainError {
  constructor(cause?: unknown) {
    super('unavailable', 'concurrent_change', 'a concurrent change got in the way; try again', { cause });
  }
}

/** An Idempotency-Key sent again with another request than the one it was first sent with. */
export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super('invalid_input', 'idempotency_key_reused', 'this Idempotency-Key was first sent with another request; a new request needs a new key');
  }
}
