import { EMBED_RUNTIMES, type EmbedRuntime } from '../../src/config/config.js';

/**
 * The bundled model's runtime named by ENGRAM_EMBED_RUNTIME in the benchmark's own environment, so
 * that the parts it measures itself (the floor's embedding) use the one Engram runs with.
 */
export function embedRuntimeFromEnvironment(): { runtime?: EmbedRuntime } {
  const named = process.env['ENGRAM_EMBED_RUNTIME'];
  if (named === undefined) return {};
  const runtime = EMBED_RUNTIMES.find((known) => known === named);
  if (runtime === undefined) throw new Error(`ENGRAM_EMBED_RUNTIME must be one of ${EMBED_RUNTIMES.join(', ')}`);
  return { runtime };
}
