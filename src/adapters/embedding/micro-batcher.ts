import { ValidationError } from '../../domain/errors.js';
import { EmbedderBadResponseError } from './errors.js';

export interface MicroBatcherOptions<TIn, TOut> {
  /** Runs one batch; must resolve with exactly one output per input, in order. */
  readonly run: (inputs: TIn[]) => Promise<TOut[]>;
  /** Most inputs handed to one `run`. A call with more inputs is split across batches. */
  readonly maxBatchSize: number;
  /**
   * How long the first input of a batch waits for others to join it, in ms. 0 waits for one turn
   * of the event loop, which already gathers the calls made together (`Promise.all`, requests
   * read in the same poll), or less with `idleDispatch` `'this-turn'`. Default 0.
   */
  readonly maxWaitMs?: number;
  /** How many batches may run at the same time. Default 1. */
  readonly concurrency?: number;
  /**
   * When a call finds a batch slot free and `maxWaitMs` is 0: `'next-turn'` waits for one turn of
   * the event loop, `'this-turn'` dispatches once the current task ends (a microtask), which still
   * gathers the calls made together but spares a lone call the wait for the loop's other I/O.
   * `'this-turn'` is only for a `run` that answers through I/O (a worker thread, a socket): one
   * that answers through microtasks alone would chain call after call and starve the event loop.
   * Default `'next-turn'`.
   */
  readonly idleDispatch?: 'next-turn' | 'this-turn';
}

interface Pending<TIn, TOut> {
  readonly inputs: TIn[];
  readonly resolve: (outputs: TOut[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Coalesces concurrent calls into few `run` calls. A batch costs much less per input than the
 * same inputs one by one, and while a batch runs the next one fills up, so under load batches
 * grow by themselves and at rest a lone call waits no longer than `maxWaitMs`.
 */
export class MicroBatcher<TIn, TOut> {
  readonly #run: (inputs: TIn[]) => Promise<TOut[]>;
  readonly #maxBatchSize: number;
  readonly #maxWaitMs: number;
  readonly #concurrency: number;
  readonly #dispatchThisTurn: boolean;
  readonly #queue: Pending<TIn, TOut>[] = [];
  #queuedInputs = 0;
  #running = 0;
  #cancelWait: (() => void) | null = null;
  #drainWaiters: (() => void)[] = [];

  constructor(options: MicroBatcherOptions<TIn, TOut>) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new ValidationError('maxBatchSize must be a positive integer');
    }
    this.#run = options.run;
    this.#maxBatchSize = options.maxBatchSize;
    this.#maxWaitMs = options.maxWaitMs ?? 0;
    this.#concurrency = options.concurrency ?? 1;
    this.#dispatchThisTurn = options.idleDispatch === 'this-turn';
  }

  /** Resolves with the outputs of these inputs, in order, whichever batches they ran in. */
  submit(inputs: readonly TIn[]): Promise<TOut[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    const parts: Promise<TOut[]>[] = [];
    for (let start = 0; start < inputs.length; start += this.#maxBatchSize) {
      const chunk = inputs.slice(start, start + this.#maxBatchSize);
      parts.push(
        new Promise<TOut[]>((resolve, reject) => {
          this.#queue.push({ inputs: chunk, resolve, reject });
          this.#queuedInputs += chunk.length;
        }),
      );
    }
    this.#schedule();
    return parts.length === 1 ? (parts[0] as Promise<TOut[]>) : Promise.all(parts).then((outs) => outs.flat());
  }

  /** Resolves once every call submitted so far has settled. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#running >= this.#concurrency) return; // a finishing batch dispatches the queue
    if (this.#queuedInputs >= this.#maxBatchSize) {
      this.#dispatch();
      return;
    }
    if (this.#cancelWait !== null) return;
    const fire = (): void => {
      this.#cancelWait = null;
      this.#dispatch();
    };
    if (this.#maxWaitMs > 0) {
      const timer = setTimeout(fire, this.#maxWaitMs);
      this.#cancelWait = () => clearTimeout(timer);
    } else if (this.#dispatchThisTurn) {
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) fire();
      });
      this.#cancelWait = () => {
        cancelled = true;
      };
    } else {
      const immediate = setImmediate(fire);
      this.#cancelWait = () => clearImmediate(immediate);
    }
  }

  /**
   * Dispatches on the next turn of the event loop, never straight away: a model that answers
   * through microtasks alone would otherwise chain batch after batch and starve all I/O.
   */
  #dispatchSoon(): void {
    this.#cancelWait?.();
    const immediate = setImmediate(() => {
      this.#cancelWait = null;
      this.#dispatch();
    });
    this.#cancelWait = () => clearImmediate(immediate);
  }

  #dispatch(): void {
    this.#cancelWait?.();
    this.#cancelWait = null;
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      this.#start(this.#takeBatch());
    }
  }

  #takeBatch(): Pending<TIn, TOut>[] {
    const batch: Pending<TIn, TOut>[] = [];
    let size = 0;
    for (;;) {
      const next = this.#queue[0];
      if (next === undefined) break;
      if (batch.length > 0 && size + next.inputs.length > this.#maxBatchSize) break;
      this.#queue.shift();
      batch.push(next);
      size += next.inputs.length;
    }
    this.#queuedInputs -= size;
    return batch;
  }

  #start(batch: Pending<TIn, TOut>[]): void {
    this.#running += 1;
    const inputs = batch.flatMap((pending) => pending.inputs);
    let outcome: Promise<TOut[]>;
    try {
      outcome = this.#run(inputs);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome
      .then(
        (outputs) => {
          if (outputs.length !== inputs.length) {
            throw new EmbedderBadResponseError(`a batch of ${inputs.length} gave ${outputs.length} outputs`);
          }
          let offset = 0;
          for (const pending of batch) {
            pending.resolve(outputs.slice(offset, offset + pending.inputs.length));
            offset += pending.inputs.length;
          }
        },
      )
      .catch((error: unknown) => {
        for (const pending of batch) pending.reject(error);
      })
      .finally(() => {
        this.#running -= 1;
        if (this.#queue.length > 0) this.#dispatchSoon();
        if (this.#running === 0 && this.#queue.length === 0) {
          for (const resolve of this.#drainWaiters.splice(0)) resolve();
        }
      });
  }
}
