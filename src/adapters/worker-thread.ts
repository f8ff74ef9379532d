import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` (without extension) next to `base`: the compiled
 * `.js` when there is one, else the TypeScript source, for which the thread first registers the
 * TypeScript loader (a worker does not inherit it).
 */
export function startWorkerThread(base: string, name: string, workerData: unknown): Worker {
  const compiled = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, { workerData });
  const source = new URL(`./${name}.ts`, base);
  return new Worker(
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
      `.then((tsx) => tsx.register()).then(() => import(${JSON.stringify(source.href)}))`,
    { eval: true, workerData },
  );
}

/**
 * Waits for a new thread to report that it started. `verdict` reads each message: a value when the
 * thread is ready, an Error when it could not start (the thread is then terminated), undefined for
 * anything else. Rejects too when the thread fails or exits first, or, given `withinMs`, has not
 * started by then (it is terminated: a thread stuck in its start would otherwise be waited for
 * without end); `what` names it in that error.
 */
export function whenStarted<Message, T>(
  worker: Worker,
  what: string,
  verdict: (message: Message) => T | Error | undefined,
  withinMs?: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const giveUp = (error: Error): void => {
      settle();
      void worker.terminate();
      reject(error);
    };
    const onMessage = (message: Message): void => {
      const outcome = verdict(message);
      if (outcome === undefined) return;
      if (outcome instanceof Error) return giveUp(outcome);
      settle();
      resolve(outcome);
    };
    const onError = (error: Error): void => {
      settle();
      reject(error);
    };
    const onExit = (code: number): void => {
      settle();
      reject(new Error(`${what} exited with ${code} while starting`));
    };
    const deadline = withinMs === undefined ? undefined : setTimeout(() => giveUp(new Error(`${what} did not start within ${withinMs} ms`)), withinMs);
    const settle = (): void => {
      clearTimeout(deadline);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}
