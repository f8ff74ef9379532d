import type { Worker } from 'node:worker_threads';
import type { PiiEntityType } from '../../domain/pii.js';
import type { Logger } from '../../ports/logger.js';
import type { AsyncRedactor, Redactor } from '../../ports/redactor.js';
import { startWorkerThread, whenStarted } from '../worker-thread.js';
import { createRedactor } from './redactor.js';

/**
 * Texts up to this length are redacted where they are asked for. Redaction costs by length and
 * by what a text holds: at 500 characters up to about 5 ms (a text of digits and separators,
 * the phone scan's worst), against about 0.3 ms more to hand a text to the thread and back; at the
 * 32,000 characters a memory may hold, 10 ms of plain prose but 80 ms dense with personal data
 * and 165 ms of digits, during which the thread serving requests answered nothing else.
 */
export const DEFAULT_INLINE_UP_TO_CHARS = 500;

/** After the thread fails to start, long texts are redacted in place for this long. */
const RETRY_START_AFTER_MS = 30_000;

/**
 * Long texts wait for the thread's start (a tenth of a second): one stuck in it is ended after
 * this long, as one that failed, rather than holding their writes for ever.
 */
const START_LIMIT_MS = 10_000;

export interface RedactionThreadData {
  readonly entities: readonly PiiEntityType[];
}
export interface ToRedactionThread {
  readonly id: number;
  readonly text: string;
}
export type FromRedactionThread =
  | { readonly type: 'ready' }
  | { readonly type: 'redacted'; readonly id: number; readonly text: string }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

export interface ThreadedRedactorOptions {
  readonly entities: readonly PiiEntityType[];
  readonly logger: Logger;
  /** Longer texts go to the thread. Default DEFAULT_INLINE_UP_TO_CHARS. */
  readonly inlineUpToChars?: number;
  /** Starts the thread on these data. Default: `redaction-thread`; tests start failing ones. */
  readonly startThread?: (data: RedactionThreadData) => Worker;
}

export interface ThreadedRedactor extends AsyncRedactor {
  /** Stops the thread; texts asked for later, or still on their way, are redacted in place. */
  close(): Promise<void>;
}

interface Pending {
  readonly text: string;
  readonly resolve: (text: string) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Redacts short texts at once and hands long ones to a thread of their own, started at the first
 * long text. The answer is the same either way, and never lost: a text whose thread fails or exits
 * is redacted in place, as are long texts while the thread cannot start.
 */
export function createThreadedRedactor(options: ThreadedRedactorOptions): ThreadedRedactor {
  const inline: Redactor = createRedactor({ entities: options.entities });
  const inlineUpTo = options.inlineUpToChars ?? DEFAULT_INLINE_UP_TO_CHARS;
  const startThread = options.startThread ?? startRedactionThread;
  const { logger } = options;
  const pending = new Map<number, Pending>();
  let thread: Promise<Worker | null> | null = null;
  let startFailedAt = Number.NEGATIVE_INFINITY;
  let nextId = 1;
  let closed = false;

  const inPlace = (text: string): string => inline.redact(text).text;

  /** Each text still on its way to an answer, redacted here instead. */
  const settleInPlace = (ids: Iterable<number>): void => {
    for (const id of [...ids]) {
      const job = pending.get(id);
      if (job === undefined) continue;
      pending.delete(id);
      try {
        job.resolve(inPlace(job.text));
      } catch (error) {
        job.reject(error);
      }
    }
  };

  const adopt = (worker: Worker): Worker => {
    worker.on('message', (message: FromRedactionThread) => {
      if (message.type === 'ready') return;
      const job = pending.get(message.id);
      if (job === undefined) return;
      if (message.type === 'redacted') {
        pending.delete(message.id);
        if (pending.size === 0) worker.unref();
        job.resolve(message.text);
        return;
      }
      logger.warn({ reason: message.message }, 'the redaction thread failed on a text; redacted in place');
      settleInPlace([message.id]);
      if (pending.size === 0) worker.unref();
    });
    worker.on('error', (error) => logger.error({ err: error }, 'the redaction thread failed'));
    worker.once('exit', (code) => {
      thread = null;
      if (!closed) logger.warn({ code, texts: pending.size }, 'the redaction thread exited; its texts are redacted in place');
      settleInPlace(pending.keys());
    });
    // A thread keeps the process alive only while it holds texts (see `redactText`).
    worker.unref();
    return worker;
  };

  const running = (): Promise<Worker | null> => {
    if (thread !== null) return thread;
    if (performance.now() - startFailedAt < RETRY_START_AFTER_MS) return Promise.resolve(null);
    const worker = startThread({ entities: options.entities });
    thread = whenStarted(
      worker,
      'the redaction thread',
      (message: FromRedactionThread) => (message.type === 'ready' ? worker : undefined),
      START_LIMIT_MS,
    ).then(adopt, (error: unknown) => {
      logger.error({ err: error }, 'the redaction thread could not start; long texts are redacted in place');
      startFailedAt = performance.now();
      thread = null;
      return null;
    });
    return thread;
  };

  const redactText = async (text: string): Promise<string> => {
    if (text.length <= inlineUpTo || closed) return inPlace(text);
    const worker = await running();
    if (worker === null || closed) return inPlace(text);
    const id = nextId++;
    const answer = new Promise<string>((resolve, reject) => pending.set(id, { text, resolve, reject }));
    worker.ref();
    worker.postMessage({ id, text } satisfies ToRedactionThread);
    return answer;
  };

  return {
    redactText,
    async close() {
      if (closed) return;
      closed = true;
      const worker = await thread;
      await worker?.terminate();
      settleInPlace(pending.keys());
    },
  };
}

/** Starts the redaction thread (`redaction-thread`); it says when it is ready. */
export function startRedactionThread(data: RedactionThreadData): Worker {
  return startWorkerThread(import.meta.url, 'redaction-thread', data);
}
