import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../../src/ports/logger.js';

/** A debug-level logger whose every line the test can read. */
export function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
