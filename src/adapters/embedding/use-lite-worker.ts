// Entry point of one embedding thread: loads its own copy of the model, then embeds the batches
// it is sent, one at a time, so that the main thread's event loop never waits on the model.
import { parentPort, workerData } from 'node:worker_threads';
import { DomainError } from '../../domain/errors.js';
import { lowerThisThreadPriority } from '../cpu-priority.js';
import { threadError } from './thread-error.js';
import type { FromWorker, ToWorker, UseLiteWorkerData } from './use-lite-worker-pool.js';
import { loadUseLiteModel } from './use-lite-loader.js';

const port = parentPort;
if (port === null) throw new DomainError('internal', 'not_a_worker', 'use-lite-worker runs only in a worker thread');
const { runtime, maxTextChars, niceness } = workerData as UseLiteWorkerData;
if (niceness > 0) lowerThisThreadPriority(niceness);

const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

try {
  const model = await loadUseLiteModel({ runtime, maxTextChars });
  port.on('message', (message: ToWorker) => {
    model.embedBatch(message.texts).then(
      (vectors) => {
        // handing the buffers over spares a copy of every vector
        const buffers = vectors.map((vector) => vector.buffer as ArrayBuffer);
        send({ type: 'result', id: message.id, vectors }, buffers);
      },
      (error: unknown) => send({ type: 'error', id: message.id, error: threadError(error) }),
    );
  });
  send({ type: 'ready', backend: model.backend });
} catch (error) {
  send({ type: 'failed', message: threadError(error).message });
}
