import { DomainError } from '../../domain/errors.js';

/**
 * The embedding service refused the request (a 4xx other than 408/429): a bad key, an unknown
 * model, an input it will not take. Trying again will not help, so it is not retryable.
 * Only the status is kept: the body may echo the input text.
 */
export class EmbedderRejectedError extends DomainError {
  readonly status: number;
  constructor(status: number) {
    super('internal', 'embedder_rejected', `the embedding service rejected the request with status ${status}`, {
      details: { status },
      retryable: false,
    });
    this.status = status;
  }
}

/** The embedding service answered, but not with what was asked for (shape, count or dimensions). */
export class EmbedderBadResponseError extends DomainError {
  constructor(reason: string) {
    super('internal', 'embedder_bad_response', `the embedding service sent an unusable response: ${reason}`, {
      details: { reason },
      retryable: false,
    });
  }
}
