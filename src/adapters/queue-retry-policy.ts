import { ValidationError } from '../domain/errors.js';

/** How a job whose handler threw is tried again. Shared by every JobQueue adapter. */
export interface RetryOptions {
  /** Times a job is tried in all, the first run included, before it is dropped. Default 20. */
  readonly attempts?: number;
  /** Wait before the second try; each later wait doubles. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** Upper bound of one wait. Default 30 000 ms. */
  readonly maxDelayMs?: number;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attempts: 20,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
});

export function resolveRetryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options) };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new ValidationError('retry.attempts must be an integer of at least 1');
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= policy.baseDelayMs)) {
    throw new ValidationError('retry delays must satisfy 0 <= baseDelayMs <= maxDelayMs');
  }
  return Object.freeze(policy);
}

/** The wait before the next try, after `failedAttempts` failed tries (1 for the first failure). */
export function backoffDelayMs(policy: RetryPolicy, failedAttempts: number): number {
  const exponent = Math.max(0, failedAttempts - 1);
  // Capping the exponent first keeps 2 ** n finite however many attempts are allowed.
  return Math.min(policy.baseDelayMs * 2 ** Math.min(exponent, 40), policy.maxDelayMs);
}

function definedOnly(options: RetryOptions): Partial<RetryPolicy> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
