// Entry point of the redaction thread: redacts the long texts it is sent, one at a time, so that
// the thread serving requests never runs their detectors.
import { parentPort, workerData } from 'node:worker_threads';
import { DomainError } from '../../domain/errors.js';
import { createRedactor } from './redactor.js';
import type { FromRedactionThread, RedactionThreadData, ToRedactionThread } from './threaded-redactor.js';

const port = parentPort;
if (port === null) throw new DomainError('internal', 'not_a_worker', 'redaction-thread runs only in a worker thread');
const { entities } = workerData as RedactionThreadData;
const redactor = createRedactor({ entities });

port.on('message', (message: ToRedactionThread) => {
  let answer: FromRedactionThread;
  try {
    answer = { type: 'redacted', id: message.id, text: redactor.redact(message.text).text };
  } catch (error) {
    answer = { type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(answer);
});
port.postMessage({ type: 'ready' } satisfies FromRedactionThread);
