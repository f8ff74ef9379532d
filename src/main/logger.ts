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

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'engram' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  });
}
