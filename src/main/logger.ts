import pino from 'pino';
import type { Logger } from '../ports/logger.js';

/** Paths that could ever hold a secret are censored even if someone logs them by mistake. */
const REDACTED_PATHS = [
  'req.headers["x-api-key"]',
  'req.headers.authorization',
  'headers["x-api-key"]',
  'headers.authorization',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'url',
  '*.url',
  'key',
  '*.key',
  'text',
  '*.text',
  'query',
  '*.query',
];

/**
 * JSON lines to standard output, for a service; a command whose results go to standard output
 * logs to standard error (`to: 'stderr'`), so its results stay what a pipe reads.
 */
export function createLogger(level: string, to: 'stdout' | 'stderr' = 'stdout'): Logger {
  const options = { level, base: { service: 'engram' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return to === 'stdout' ? pino(options) : pino(options, pino.destination({ dest: 2, sync: true }));
}
