/**
 * The settings of glibc's allocator that Engram's processes start with, as GLIBC_TUNABLES. By
 * default glibc gives each busy thread an arena of its own (up to eight per core) and raises its
 * threshold for returning freed blocks to the system as larger blocks are freed, so memory freed
 * after a burst of writes stays resident. Two arenas, and blocks of 128 KiB or more always mapped
 * and unmapped on their own: after one user's 100k memories were written, Engram held 705 MiB and
 * its Chroma 557 MiB, against 1,025 and 727 MiB with glibc's defaults (same load, same machine),
 * and writing was not slower (193 against 212 s).
 *
 * glibc reads them when a process starts, so they are set where Engram's processes are started:
 * the Chroma that Engram runs (chroma-process.ts), `npm start` (package.json), the image
 * (Dockerfile) and the benchmark. Other systems ignore them.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072';

/**
 * `env` for a child process, whose GLIBC_TUNABLES holds Engram's allocator settings and, after
 * them (so they win), any tunables already there.
 */
export function withMallocTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tunables = new Map<string, string>();
  for (const source of [MALLOC_TUNABLES, env['GLIBC_TUNABLES'] ?? '']) {
    for (const setting of source.split(':')) {
      const at = setting.indexOf('=');
      if (at > 0) tunables.set(setting.slice(0, at), setting.slice(at + 1));
    }
  }
  return { ...env, GLIBC_TUNABLES: [...tunables].map(([name, value]) => `${name}=${value}`).join(':') };
}
