import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Builds Engram from its source as `npm run build` does (incremental: quick when nothing changed)
 * and returns the command line that starts it: `node dist/main/cli.js`, as `npm start` and the
 * image do, so that a benchmark or a soak measures what users run, not the source through a loader.
 */
export function builtEngramCli(): string {
  const root = process.cwd();
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  return join(root, 'dist', 'main', 'cli.js');
}
