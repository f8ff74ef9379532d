import { DomainError } from '../../domain/errors.js';

/** Statuses by which an embedding service refuses the input itself: no retry will change them. */
export const INPUT_REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

/**
 * The embedding service refused the input (400, 413 or 422): this text will never embed, so the
 * write fails for good and a search is told its query was refused. Only the status is kept: the
 * body may echo the input text.
 */
export class EmbedderRejectedError extends DomainError {
  readonly status: number;
  constructor(status: number) {
    super('invalid_input', 'embedder_rejected', `the embedding service rejected the input with status ${status}`, {
      details: { status },
      retryable: false,
    });
    this.status = status;
  }
}

/**
 * The embedding service refused Engram itself (a 401 or 403 for a bad key, a 404 for a wrong URL
 * or model, any other 4xx): a misconfiguration that an operator fixes. Accepted writes wait for
 * it rather than fail, so it counts as an outage of the embedder.
 */
export class EmbedderMisconfiguredError extends DomainError {
  readonly status: number;
  constructor(status: number) {
    super('unavailable', 'embedder_misconfigured', `the embedding service refused Engram's request with status ${status}; check ENGRAM_EMBED_URL, ENGRAM_EMBED_MODEL and ENGRAM_EMBED_API_KEY`, {
      details: { dependency: 'embedder', status },
      retryable: true,
    });
    this.status = status;
  }
}

/**
 * The embedding service answered, but not with what was asked for (shape, count or dimensions): a
 * page of a proxy served with 200, or a model swapped under the same name. Nothing is wrong with
 * the texts, so accepted writes wait for a usable answer rather than fail, as for a misconfiguration.
 */
export class EmbedderBadResponseError extends DomainError {
  constructor(reason: string) {
    super('unavailable', 'embedder_bad_response', `the embedding service sent an unusable response: ${reason}`, {
      details: { dependency: 'embedder', reason },
      retryable: true,
    });
  }
}
