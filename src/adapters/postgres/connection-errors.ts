import { ConcurrentChangeError, DependencyUnavailableError } from '../../domain/errors.js';

/** Socket-level failures: the server is not there, or went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * Server states that a later attempt may find gone: connection exceptions (class 08), shutdown
 * and startup (57P01–57P03), too many connections (53300).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

function errorCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null || !('code' in error)) return null;
  return typeof error.code === 'string' ? error.code : null;
}

export function isConnectionFailure(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== null && (NETWORK_CODES.has(code) || isUnavailableSqlState(code))) return true;
  // node-postgres reports a dropped or timed-out connection, and a statement past its time, by message only.
  const message = error instanceof Error ? error.message : '';
  return (
    isStatementTimeout(error) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)
  );
}

/** A statement that got no answer within the client's time limit (`query_timeout`). */
export function isStatementTimeout(error: unknown): error is Error {
  return error instanceof Error && error.message === 'Query read timeout';
}

/** A statement the server cancelled at its `statement_timeout` (or on an administrator's request). */
const CANCELLED_STATE = '57014';

/** Serialization failure (40001) and deadlock (40P01): the transaction was rolled back for another. */
const CONFLICT_STATES = new Set(['40001', '40P01']);

/**
 * The error as Engram tells it: an outage for a connection that failed or a statement cancelled
 * at its limit, a concurrent change for a transaction the server gave up for another (all worth
 * another try), else as it came.
 */
export function asDependencyError(error: unknown): unknown {
  const code = errorCode(error);
  if (isConnectionFailure(error) || code === CANCELLED_STATE) return new DependencyUnavailableError('postgres', error);
  return code !== null && CONFLICT_STATES.has(code) ? new ConcurrentChangeError(error) : error;
}
