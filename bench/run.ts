// The Engram benchmark (not a test): loads memories through the HTTP API and measures ingest,
// accept and search latency, time to searchable, memory and disk, at growing sizes.
//
//   npm run bench -- [--distributed] [--scale 10k,100k,heavy] [--quick] [--json FILE]
//
// Scales: `10k`, `100k` (any `<n>k`) spread over 1,000 users, loaded one after the other into the
// same Engram; `heavy` is a fresh Engram where one user holds 100k (`heavy20k`: 20k).
// `--quick` is a smoke run: 1k memories, short phases.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EngramClient, POLL_PAUSE_MS, TaskTracker, type AcceptedItem } from './lib/client.js';
import { cpuMsPer, formatCpuMs, type CpuMsPer } from './lib/cpu-time.js';
import { startEngram, type EngramUnderTest, type Mode } from './lib/engram-under-test.js';
import { FloorProbe, type Floor } from './lib/floor.js';
import { sendInBatches } from './lib/send-in-batches.js';
import { latencies, ProgressBar, sleep, type Latencies } from './lib/stats.js';
import { memoryItem, queryText, Random, userId } from './lib/workload.js';

const { values } = parseArgs({
  options: {
    distributed: { type: 'boolean', default: false },
    scale: { type: 'string', default: '10k,100k' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    users: { type: 'string', default: '1000' },
  },
});
const mode: Mode = values.distributed === true ? 'distributed' : 'embedded';
const quick = values.quick === true;
const scales = quick ? ['1k'] : (values.scale ?? '10k').split(',').map((scale) => scale.trim());
const USERS = Number(values.users);
/** As the API groups an accepted batch into jobs (accept-writes.ts). */
const TASKS_PER_JOB = 32;
const LOAD_BATCH = 500;
/** Accepted writes not yet done that the loader allows, so the queue never grows without bound. */
const LOAD_WINDOW = 4_000;
const SEARCH_CLIENTS = 8;
const phase = quick
  ? { singleWrites: 200, searchSeconds: 5, searchableSeconds: 5, oneClientBlocks: 2 }
  : { singleWrites: 1_000, searchSeconds: 20, searchableSeconds: 20, oneClientBlocks: 10 };
/** One client's searches per block, each block followed by their floors (see searchesOverFloor). */
const ONE_CLIENT_BLOCK = 50;
/** Searches (and their floors) of the first block, which is not counted. */
const ONE_CLIENT_WARM_UP = 20;

interface ScaleResult {
  scale: string;
  memories: number;
  /** Memories stored when the disk was read: the scale's and every measured write's before then. */
  memoriesStored: number;
  users: number;
  ingestBatchedPerSecond: number;
  ingestSinglePerSecond: number;
  /** CPU per memory of the batched load, by part. */
  ingestCpuMs: CpuMsPer;
  /** Accept latency while 8 clients send single writes back to back (the single-write ingest). */
  acceptMs: Latencies;
  /** Accept latency at a steady 50 writes/s. */
  steadyAcceptMs: Latencies;
  /** CPU per write of the steady 50 writes/s, by part, with the probe's task reads and searches. */
  steadyCpuMs: CpuMsPer;
  searchMs: Latencies;
  searchPerSecond: number;
  /** CPU per search of the 8 clients' phase, by part. */
  searchCpuMs: CpuMsPer;
  searchOneClientMs: Latencies;
  searchableMs: Latencies;
  searchableLostOrLate: number;
  rssEngramMiB: number;
  rssChromaMiB: number;
  diskBytesPerMemory: number;
  floor: Floor;
  overFloor: number;
  /** One client's round trips of `GET /healthz`, taken beside its searches: the way to Engram and back. */
  roundTripMs: Latencies;
}

const random = new Random(20_251_124);
let serial = 0;

function parseScale(scale: string): number {
  const match = /^(\d+)k$/.exec(scale);
  if (match === null) throw new Error(`unknown scale "${scale}"`);
  return Number(match[1]) * 1_000;
}

/** Loads memories in batches until the store holds `target`; the rate is from first 202 to last completion. */
async function load(client: EngramClient, have: number, target: number, users: readonly string[], label: string): Promise<number> {
  const tracker = new TaskTracker(client);
  const bar = new ProgressBar(label, target - have);
  const began = performance.now();
  let added = 0;
  const total = target - have;
  const sending = sendInBatches({
    total,
    batchSize: LOAD_BATCH,
    senders: 2,
    room: async () => {
      while (tracker.pending > LOAD_WINDOW) await sleep(20);
    },
    send: async (size) => {
      const items = Array.from({ length: size }, () => memoryItem(random, ++serial, users[serial % users.length] as string));
      const { status, body } = await client.post<{ items: AcceptedItem[] }>('/memory/batch', { items });
      if (status !== 202) throw new Error(`batch write answered ${status}: ${JSON.stringify(body)}`);
      tracker.add(body.items.map((item) => item.task_id), TASKS_PER_JOB);
      added += size;
    },
  });
  const poller = async (): Promise<void> => {
    while (added < total || tracker.pending > 0) {
      const caughtUp = await tracker.poll();
      bar.update(tracker.done);
      if (!caughtUp) await sleep(POLL_PAUSE_MS);
    }
  };
  await Promise.all([sending, poller()]);
  bar.update(tracker.done);
  bar.finish();
  if (tracker.failed > 0) process.stderr.write(`${tracker.failed} writes failed\n`);
  return total / ((tracker.lastDoneAt - began) / 1000);
}

/** Single writes from 8 clients: accept latency, and the rate from first 202 to last completion. */
async function singleWrites(client: EngramClient, users: readonly string[]): Promise<{ rate: number; accept: Latencies }> {
  const tracker = new TaskTracker(client);
  const accept: number[] = [];
  let left = phase.singleWrites;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left > 0) {
        left -= 1;
        const item = memoryItem(random, ++serial, users[serial % users.length] as string);
        const started = performance.now();
        const { status, body } = await client.post<AcceptedItem>('/memory', item);
        accept.push(performance.now() - started);
        if (status !== 202) throw new Error(`write answered ${status}`);
        tracker.add([body.task_id], 1);
      }
    }),
  );
  await tracker.drain();
  return { rate: phase.singleWrites / ((tracker.lastDoneAt - began) / 1000), accept: latencies(accept) };
}

/** One search of the ten best, as every phase sends it; its time in ms from sending to the answer. */
async function timedSearch(client: EngramClient, user: string, query: string): Promise<number> {
  const started = performance.now();
  const { status } = await client.post('/memory/search', { query, user_id: user, top_k: 10 });
  if (status !== 200) throw new Error(`search answered ${status}`);
  return performance.now() - started;
}

/** `clients` searchers, each sending the next query as soon as the previous one is answered. */
async function searches(client: EngramClient, users: readonly string[], clients: number, seconds: number): Promise<{ ms: Latencies; perSecond: number }> {
  const times: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        // The query first, then the user: the order in which they were always drawn.
        const query = queryText(random, ++serial);
        times.push(await timedSearch(client, random.pick(users), query));
      }
    }),
  );
  return { ms: latencies(times), perSecond: times.length / ((performance.now() - began) / 1000) };
}

/**
 * One client's searches in blocks, each block followed by the floor of the same queries for the
 * same users, taken by the benchmark itself: the two see the same minutes of a machine whose speed
 * drifts by half within minutes (timed minutes apart, the ratio measured the drift), and the same
 * state of Chroma. Within a block the searches go back to back, as they did before the floor was
 * interleaved: a floor sample after every search left Engram idle between searches, about 0.5 ms
 * slower each (distributed, 10k). Between each block's searches and its floor go as many round
 * trips of `GET /healthz`, back to back: the way from this client to Engram's routes and back,
 * which a search holds and its floor does not.
 */
async function searchesOverFloor(
  engram: EngramUnderTest,
  client: EngramClient,
  users: readonly string[],
): Promise<{ ms: Latencies; roundTripMs: Latencies; probe: FloorProbe }> {
  const probe = await FloorProbe.open(engram);
  const times: number[] = [];
  const roundTrips: number[] = [];
  try {
    for (let block = 0; block <= phase.oneClientBlocks; block += 1) {
      // The first block warms both up and is not counted.
      const counted = block > 0;
      const queries = Array.from({ length: counted ? ONE_CLIENT_BLOCK : ONE_CLIENT_WARM_UP }, () => ({ user: random.pick(users), query: queryText(random, ++serial) }));
      for (const { user, query } of queries) {
        const time = await timedSearch(client, user, query);
        if (counted) times.push(time);
      }
      for (let trip = 0; trip < queries.length; trip += 1) {
        const time = await timedRoundTrip(client);
        if (counted) roundTrips.push(time);
      }
      for (const { user, query } of queries) await probe.sample(user, query, counted);
    }
  } finally {
    await probe.close();
  }
  return { ms: latencies(times), roundTripMs: latencies(roundTrips), probe };
}

/** One `GET /healthz` (the app's own hooks, but no key, body or store); its time in ms. */
async function timedRoundTrip(client: EngramClient): Promise<number> {
  const started = performance.now();
  const { status } = await client.get('/healthz');
  if (status !== 200) throw new Error(`healthz answered ${status}`);
  return performance.now() - started;
}

/** Writes a second in the steady phase, and one in how many of them is followed to searchable. */
const STEADY_WRITES_PER_SECOND = 50;
const FOLLOW_ONE_IN = 5;
/** How often a followed write's task is read. */
const FOLLOW_POLL_MS = 100;

/**
 * Seconds of steady writes sent, and waited for, before the measured ones. A store's first write
 * into each of its shared collections costs Chroma 0.2-0.4 s, once in the store's life (it lays
 * out the collection's index): in the heavy scale, whose store holds one user in a collection of
 * their own, the first seconds of other users' writes measured that instead of a steady state.
 */
const STEADY_WARM_UP_SECONDS = 3;

/**
 * Starts `write(0)`, `write(1)`… on a clock at the steady rate for `seconds`, whatever their
 * answers (open loop), and resolves once all of them have.
 */
async function onSteadyClock(seconds: number, write: (index: number) => Promise<void>): Promise<void> {
  const writes: Promise<void>[] = [];
  const began = performance.now();
  const interval = 1_000 / STEADY_WRITES_PER_SECOND;
  for (let index = 0; performance.now() - began < seconds * 1000; index += 1) {
    writes.push(write(index));
    await sleep(Math.max(0, began + (index + 1) * interval - performance.now()));
  }
  await Promise.all(writes);
}

/** Writes at the steady rate for `seconds`, each of a user of its own, and waits until all are done. */
/** Steady writes not measured, to bring the write path to its pace; answers how many were sent. */
async function warmUpSteadyWrites(client: EngramClient, seconds: number): Promise<number> {
  const tracker = new TaskTracker(client);
  let sent = 0;
  await onSteadyClock(seconds, async (index) => {
    sent += 1;
    const { status, body } = await client.post<AcceptedItem>('/memory', { user_id: `warm-up-${Date.now()}-${index}`, session_id: 'warm-up', text: `warm-up write ${index}` });
    if (status !== 202) throw new Error(`write answered ${status}`);
    tracker.add([body.task_id], 1);
  });
  await tracker.drain();
  return sent;
}

/**
 * A steady 50 writes/s for `seconds`, each of a user of its own, sent on a schedule that does not
 * wait for the answers (open loop): the accept latency of every write, and for one write in five
 * the time from its 202 until a search finds it (its task is followed first, so searches are not
 * wasted while it is queued). Following every write every 50 ms was itself ~1,000 requests a
 * second: when Engram slowed down, the probe's own polling grew and slowed it further.
 */
async function steadyWrites(client: EngramClient, seconds: number): Promise<{ accept: Latencies; searchable: Latencies; lostOrLate: number }> {
  const accept: number[] = [];
  const found: number[] = [];
  let lostOrLate = 0;
  const write = async (index: number): Promise<void> => {
    const user = `probe-${Date.now()}-${index}`;
    const text = `probe ${index} ${queryText(random, ++serial)}`;
    try {
      const sent = performance.now();
      const { status, body } = await client.post<AcceptedItem>('/memory', { user_id: user, session_id: 'probe', text });
      const accepted = performance.now();
      accept.push(accepted - sent);
      if (status !== 202) throw new Error(`write answered ${status}`);
      if (index % FOLLOW_ONE_IN !== 0) return;
      const deadline = accepted + 10_000;
      while (performance.now() < deadline) {
        await sleep(FOLLOW_POLL_MS);
        const task = await client.get<{ status: string }>(`/tasks/${body.task_id}`);
        if (task.body.status !== 'completed') continue;
        const hit = await client.post<{ results: Array<{ id: string }> }>('/memory/search', { query: text, user_id: user, top_k: 1 });
        if (hit.body.results.some((result) => result.id === body.id)) {
          found.push(performance.now() - accepted);
          return;
        }
      }
    } catch {
      // An error counts like a write that never became searchable.
    }
    lostOrLate += 1;
  };
  await onSteadyClock(seconds, write);
  return { accept: latencies(accept), searchable: latencies(found), lostOrLate };
}

/** The batched load's rate, and its CPU per memory. */
interface Ingest {
  readonly perSecond: number;
  readonly cpuMs: CpuMsPer;
}

async function measureAt(engram: EngramUnderTest, client: EngramClient, scale: string, memories: number, users: readonly string[], batched: Ingest): Promise<ScaleResult> {
  process.stderr.write(`measuring at ${scale}: single writes…\n`);
  const single = await singleWrites(client, users);
  process.stderr.write('searches (1 client, in blocks with their floors, then 8 clients)…\n');
  const oneClient = await searchesOverFloor(engram, client, users);
  const cpuBefore = await engram.cpuReading();
  const search = await searches(client, users, SEARCH_CLIENTS, phase.searchSeconds);
  const searchCpuMs = cpuMsPer(cpuBefore, await engram.cpuReading(), search.ms.count);
  process.stderr.write('steady writes at 50/s: accept and time to searchable…\n');
  const warmUpWrites = await warmUpSteadyWrites(client, STEADY_WARM_UP_SECONDS);
  const steadyCpuBefore = await engram.cpuReading();
  const steady = await steadyWrites(client, phase.searchableSeconds);
  const steadyCpuMs = cpuMsPer(steadyCpuBefore, await engram.cpuReading(), steady.accept.count);
  // Before the floor's fetches, for which an embedded Engram is stopped and started again.
  const rss = engram.rss();
  const disk = await engram.diskBytes();
  const memoriesStored = memories + phase.singleWrites + warmUpWrites + steady.accept.count;
  process.stderr.write('floor…\n');
  const floor = await oneClient.probe.floor();
  return {
    scale,
    memories,
    memoriesStored,
    users: users.length,
    ingestBatchedPerSecond: batched.perSecond,
    ingestSinglePerSecond: single.rate,
    ingestCpuMs: batched.cpuMs,
    acceptMs: single.accept,
    steadyAcceptMs: steady.accept,
    steadyCpuMs,
    searchMs: search.ms,
    searchPerSecond: search.perSecond,
    searchCpuMs,
    searchOneClientMs: oneClient.ms,
    searchableMs: steady.searchable,
    searchableLostOrLate: steady.lostOrLate,
    rssEngramMiB: rss.engram / 2 ** 20,
    rssChromaMiB: rss.chroma / 2 ** 20,
    diskBytesPerMemory: disk / memoriesStored,
    floor,
    overFloor: oneClient.ms.p50 / floor.totalMs.p50,
    roundTripMs: oneClient.roundTripMs,
  };
}

async function runScales(list: readonly string[], heavy: boolean): Promise<ScaleResult[]> {
  const engram = await startEngram(mode);
  const client = new EngramClient(engram.url, engram.apiKey);
  const users = heavy ? [userId(0)] : Array.from({ length: Math.min(USERS, quick ? 100 : USERS) }, (_, index) => userId(index));
  const results: ScaleResult[] = [];
  try {
    let have = 0;
    for (const scale of list) {
      const target = parseScale(scale);
      if (target <= have) throw new Error(`scale ${scale} is not above the ${have} memories the earlier scales left stored`);
      const label = heavy ? `loading heavy ${scale}` : `loading ${scale}`;
      const cpuBefore = await engram.cpuReading();
      const perSecond = await load(client, have, target, users, label);
      const cpuMs = cpuMsPer(cpuBefore, await engram.cpuReading(), target - have);
      have = target;
      const result = await measureAt(engram, client, heavy ? `heavy ${scale}` : scale, have, users, { perSecond, cpuMs });
      results.push(result);
      have = result.memoriesStored;
      // Each scale is shown as soon as it is measured: a long run that fails later keeps it.
      process.stderr.write(`\n${table([result])}\n\n`);
    }
  } finally {
    client.close();
    await engram.stop();
  }
  return results;
}

function table(results: readonly ScaleResult[]): string {
  const f = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
  const lat = (l: Latencies): string => `${f(l.p50)} / ${f(l.p95)} / ${f(l.p99)}`;
  const rows: Array<[string, (r: ScaleResult) => string]> = [
    ['memories (users)', (r) => `${r.memories} (${r.users})`],
    ['ingest, batched (memories/s)', (r) => f(r.ingestBatchedPerSecond, 0)],
    ['ingest, single writes (memories/s)', (r) => f(r.ingestSinglePerSecond, 0)],
    ['CPU per memory, batched ingest (ms)', (r) => formatCpuMs(r.ingestCpuMs)],
    ['accept p50/p95/p99 at 50 writes/s (ms)', (r) => lat(r.steadyAcceptMs)],
    ['CPU per write at 50 writes/s (ms)', (r) => formatCpuMs(r.steadyCpuMs)],
    ['accept p50/p95/p99, 8 writers (ms)', (r) => lat(r.acceptMs)],
    ['search, 8 clients p50/p95/p99 (ms)', (r) => lat(r.searchMs)],
    ['search throughput, 8 clients (req/s)', (r) => f(r.searchPerSecond, 0)],
    ['CPU per search, 8 clients (ms)', (r) => formatCpuMs(r.searchCpuMs)],
    ['search, 1 client p50/p95/p99 (ms)', (r) => lat(r.searchOneClientMs)],
    ['floor p50: embed + chroma + sql (ms)', (r) => `${f(r.floor.totalMs.p50, 2)} = ${f(r.floor.embedMs.p50, 2)} + ${f(r.floor.chromaMs.p50, 2)} + ${f(r.floor.sqlMs.p50, 2)}`],
    ['search p50 over floor (1 client)', (r) => `${f(r.overFloor, 2)}x`],
    ['HTTP round trip p50, GET /healthz (ms)', (r) => f(r.roundTripMs.p50, 2)],
    ['202 to searchable p50/p95 at 50/s (ms)', (r) => `${f(r.searchableMs.p50, 0)} / ${f(r.searchableMs.p95, 0)}${r.searchableLostOrLate > 0 ? ` (${r.searchableLostOrLate} over 10 s or failed)` : ''}`],
    ['RSS engram + chroma (MiB)', (r) => `${f(r.rssEngramMiB, 0)} + ${f(r.rssChromaMiB, 0)}`],
    ['disk per memory (bytes)', (r) => f(r.diskBytesPerMemory, 0)],
  ];
  const header = ['', ...results.map((r) => r.scale)];
  const body = rows.map(([name, cell]) => [name, ...results.map(cell)]);
  const widths = header.map((_, column) => Math.max(...[header, ...body].map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]): string => `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const flat = scales.filter((scale) => !scale.startsWith('heavy'));
  const results: ScaleResult[] = [];
  if (flat.length > 0) results.push(...(await runScales(flat, false)));
  const heavy = scales.find((scale) => scale.startsWith('heavy'));
  if (heavy !== undefined) {
    // `heavy` holds 100k, `heavy20k` the size given.
    results.push(...(await runScales([heavy === 'heavy' ? '100k' : heavy.slice('heavy'.length)], true)));
  }
  console.log(`\nEngram benchmark, ${mode} mode, ${new Date().toISOString()}\n`);
  console.log(table(results));
  if (values.json !== undefined) {
    await writeFile(values.json, `${JSON.stringify({ mode, quick, results }, null, 2)}\n`);
    console.log(`\nwrote ${values.json}`);
  }
}

await main();
