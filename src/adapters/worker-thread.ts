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
 * anything else. Rejects too when the thread fails or exits first; `what` names it in that error.
 */
export function whenStarted<Message, T>(
  worker: Worker,
  what: string,
  verdict: (message: Message) => T | Error | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Message): void => {
      const outcome = verdict(message);
      if (outcome === undefined) return;
      settle();
      if (outcome instanceof Error) {
        void worker.terminate();
        reject(outcome);
      } else resolve(outcome);
    };
    const onError = (error: Error): void => {
      settle();
      reject(error);
    };
    const onExit = (code: number): void => {
      settle();
      reject(new Error(`${what} exited with ${code} while starting`));
    };
    const settle = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}
