const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
const CONNECTION_MESSAGES = /Connection is closed|Stream isn't writeable|WRONGPASS|NOAUTH|Command timed out|MaxRetriesPerRequest/i;

/** Whether an error means Redis could not be reached (or refused our login), rather than a bug. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && CONNECTION_CODES.has(code)) || CONNECTION_MESSAGES.test(error.message);
}

/** ioredis reconnect delay: quick at first, then every 2 s, for as long as it takes. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 10), 2_000);
}
