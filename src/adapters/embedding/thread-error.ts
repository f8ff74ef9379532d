import { DomainError, isDomainError, type ErrorKind } from '../../domain/errors.js';

/** An error of the model in a thread, as it crosses to the pool: a DomainError keeps its kind and code. */
export interface ThreadError {
  readonly message: string;
  readonly kind?: ErrorKind;
  readonly code?: string;
}

/** What the thread sends of an error. */
export function threadError(error: unknown): ThreadError {
  if (isDomainError(error)) return { message: error.message, kind: error.kind, code: error.code };
  return { message: error instanceof Error ? error.message : String(error) };
}

/**
 * The error a caller gets for it: the model's failure, as on the calling thread, not an outage (a
 * batch the model fails on fails again, however often it is tried). A thread that exits is one.
 */
export function fromThread(error: ThreadError): DomainError {
  if (error.kind !== undefined && error.code !== undefined) return new DomainError(error.kind, error.code, error.message);
  return new DomainError('internal', 'embedder_failed', 'the embedding model failed', { cause: new Error(error.message) });
}
