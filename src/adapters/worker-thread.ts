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
