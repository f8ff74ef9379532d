// Measures the bundled embedder: the cost per text of single calls against batches, and how
// 8 concurrent callers fare with the model on the main thread or in worker threads.
// Run: node --import tsx bench/embedding.ts [seconds per scenario, default 5] [thread counts, default 0,1,2]
// (ENGRAM_EMBED_RUNTIME chooses the runtime, as for Engram.)
import pino from 'pino';
import { createUseLiteEmbedder } from '../src/adapters/embedding/use-lite-embedder.js';
import type { Embedder } from '../src/ports/embedder.js';
import { embedRuntimeFromEnvironment } from './lib/embed-runtime.js';
import { percentile } from './lib/stats.js';

const seconds = Number(process.argv[2] ?? 5);
const logger = pino({ level: 'warn' });
const sentences = [
  'I adopted a golden retriever named Biscuit',
  'The meeting moved to Tuesday afternoon',
  'My sister lives in Lisbon and works as a nurse',
  'I love pizza on Fridays, especially with mushrooms',
  'Remind me to renew my passport before the trip in June',
  "What is my dog's name?",
  'He prefers tea over coffee in the morning',
  'Our flight to Tokyo leaves at 9pm',
];
let counter = 0;
const nextText = (): string => `${sentences[counter % sentences.length]} (${counter++})`;

async function perTextCost(embedder: Embedder): Promise<void> {
  for (let i = 0; i < 20; i++) await embedder.embed([nextText()]);
  for (const size of [1, 8, 16, 32, 64]) {
    const rounds = Math.max(5, Math.round(320 / size));
    const began = performance.now();
    for (let r = 0; r < rounds; r++) await embedder.embed(Array.from({ length: size }, nextText));
    const perText = (performance.now() - began) / (rounds * size);
    console.log(`  batch of ${String(size).padStart(2)}: ${perText.toFixed(2)} ms per text`);
  }
}

/** 8 callers, each sending one query as soon as its previous one is answered. */
async function concurrentCallers(embedder: Embedder, callers = 8): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: callers }, () => embedder.embed([nextText()])));
  const latencies: number[] = [];
  // a 5 ms ticker shows how long other requests would wait for the event loop
  const gaps: number[] = [];
  let lastTick = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    gaps.push(now - lastTick - 5);
    lastTick = now;
  }, 5);
  const deadline = performance.now() + seconds * 1000;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        const start = performance.now();
        await embedder.embed([nextText()]);
        latencies.push(performance.now() - start);
      }
    }),
  );
  clearInterval(ticker);
  const elapsed = (performance.now() - began) / 1000;
  console.log(
    `  ${(latencies.length / elapsed).toFixed(0)} texts/s, ` +
      `${((elapsed * 1000) / latencies.length).toFixed(2)} ms per text; ` +
      `latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms; ` +
      `event-loop delay p99 ${percentile(gaps, 99).toFixed(1)} ms, max ${Math.max(...gaps).toFixed(1)} ms`,
  );
}

const order = (process.argv[3] ?? '0,1,2').split(',').map(Number);
for (const threads of order) {
  const began = performance.now();
  const embedder = await createUseLiteEmbedder({ logger, threads, ...embedRuntimeFromEnvironment() });
  console.log(`threads: ${threads} (loaded in ${Math.round(performance.now() - began)} ms)`);
  await perTextCost(embedder);
  console.log(`  8 concurrent callers for ${seconds} s:`);
  await concurrentCallers(embedder);
  await embedder.close();
}
