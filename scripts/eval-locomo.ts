/**
 * Scores retrieval on LoCoMo (long multi-session chats with labelled evidence turns) through the
 * public HTTP API, as a client would use it: one user per conversation, one session per session,
 * each turn stored as "<speaker>: <text>" with its session date and its dia_id in metadata.
 *
 *   npm run eval:locomo [-- --data FILE] [-- --url URL --key KEY] [-- --json OUT]
 *                       [-- --no-captions] [-- --context N] [-- --distractors N]
 *
 * Without --url it starts an embedded Engram in this process on a temporary data folder and a
 * free port. Every question of categories 1-4 with evidence is asked with its user; evidence
 * recall@k is the share of the question's evidence turns among the top k results, averaged over
 * questions. A turn with an image gets its caption appended ("[image: ...]"), as a chat client
 * that captions images would store it; --no-captions stores the text alone.
 *
 * --distractors N first stores N made-up everyday turns of the same two speakers for each
 * conversation's user, in sessions of their own dated before the conversation: the questions are
 * then asked of a large user, whose searches take the paths and bounds that only large users do.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../src/config/load-config.js';
import { startNode, type RunningNode } from '../src/main/node.js';

/** The development split, kept beside the repository (its licence keeps it out): see the README. */
const DEFAULT_DATA = fileURLToPath(new URL('../../shared/data/locomo/locomo-dev.json', import.meta.url));
const CUTOFFS = [5, 10, 25] as const;
const CATEGORY_NAMES: Readonly<Record<number, string>> = { 1: 'multi-hop', 2: 'temporal', 3: 'open-domain', 4: 'single-hop' };

interface Turn {
  speaker: string;
  dia_id: string;
  text: string;
  blip_caption?: string;
}
interface Question {
  question: string;
  evidence?: string[];
  category: number;
}
interface Conversation {
  sample_id: string;
  conversation: Record<string, unknown>;
  qa: Question[];
}
interface SearchHit {
  metadata: Record<string, unknown>;
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** "1:56 pm on 8 May, 2023" → that moment in UTC. */
function parseSessionDate(text: string): Date {
  const match = /^(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})$/i.exec(text.trim());
  if (match === null) throw new Error(`unreadable session date: ${text}`);
  const [, hour, minute, half, day, month, year] = match;
  const monthIndex = MONTHS.indexOf((month ?? '').toLowerCase());
  if (monthIndex < 0) throw new Error(`unknown month in: ${text}`);
  const hours = (Number(hour) % 12) + ((half ?? '').toLowerCase() === 'pm' ? 12 : 0);
  return new Date(Date.UTC(Number(year), monthIndex, Number(day), hours, Number(minute)));
}

/** "D8:6; D9:17" and friends → the dia ids, keeping only those of real turns. */
function cleanEvidence(evidence: readonly string[], turns: ReadonlySet<string>): string[] {
  const ids = evidence.flatMap((entry) => entry.split(/[;,\s]+/)).map((id) => id.trim()).filter((id) => /^D\d+:\d+$/.test(id));
  return [...new Set(ids)].filter((id) => turns.has(id));
}

interface Session {
  readonly index: number;
  readonly date: Date;
  readonly turns: Turn[];
}

function sessionsOf(conversation: Conversation): Session[] {
  const sessions: Session[] = [];
  for (const [key, value] of Object.entries(conversation.conversation)) {
    const match = /^session_(\d+)$/.exec(key);
    if (match === null || !Array.isArray(value)) continue;
    const date = conversation.conversation[`${key}_date_time`];
    if (typeof date !== 'string') continue;
    sessions.push({ index: Number(match[1]), date: parseSessionDate(date), turns: value as Turn[] });
  }
  return sessions.sort((a, b) => a.index - b.index);
}

class Client {
  constructor(
    private readonly url: string,
    private readonly key: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      const response = await fetch(`${this.url}${path}`, {
        method,
        headers: { 'x-api-key': this.key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (response.status === 429 && attempt < 20) {
        await sleep(Number(response.headers.get('retry-after') ?? '1') * 1000);
        continue;
      }
      const parsed = (await response.json()) as T;
      if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${JSON.stringify(parsed)}`);
      return parsed;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForTasks(client: Client, taskIds: readonly string[]): Promise<void> {
  for (const taskId of taskIds) {
    for (;;) {
      const task = await client.request<{ status: string; error?: unknown }>('GET', `/tasks/${taskId}`);
      if (task.status === 'completed') break;
      if (task.status === 'failed') throw new Error(`task ${taskId} failed: ${JSON.stringify(task.error)}`);
      await sleep(50);
    }
  }
}

/** Everyday chat that answers none of the questions, though it shares their common words. */
const DISTRACTOR_PARTS = {
  opening: ['Yesterday', 'Last weekend', 'This morning', 'On Monday', 'After work', 'Tonight', 'Earlier today', 'Last month'],
  action: ['I cleaned', 'I fixed', 'I painted', 'we visited', 'I watched', 'we cooked', 'I read about', 'we talked about', 'I planned', 'I bought'],
  thing: ['the kitchen', 'an old bike', 'a new recipe', 'the garden fence', 'a documentary', 'the car', 'a birthday gift', 'the living room', 'a board game', 'my desk'],
  company: ['with my neighbour', 'with a friend', 'by myself', 'with the family', 'with my cousin', 'with coworkers'],
  feeling: ['and it felt good', 'which took ages', 'and it was fun', 'but it rained', 'and I loved it', 'which was tiring', 'and we laughed a lot'],
} as const;

/** `count` made-up turns of the conversation's speakers, in sessions of 20 dated before it. */
function distractorItems(conversation: Conversation, userId: string, count: number): Record<string, unknown>[] {
  const sessions = sessionsOf(conversation);
  const speakers = [...new Set(sessions.flatMap((session) => session.turns.map((turn) => turn.speaker)))];
  const first = Math.min(...sessions.map((session) => session.date.getTime()));
  let state = 2_463_534_242;
  const pick = <T>(items: readonly T[]): T => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return items[state % items.length] as T;
  };
  const { opening, action, thing, company, feeling } = DISTRACTOR_PARTS;
  return Array.from({ length: count }, (_, index) => ({
    user_id: userId,
    session_id: `distractor-${Math.floor(index / 20)}`,
    text: `${speakers[index % Math.max(1, speakers.length)] ?? 'Speaker'}: ${pick(opening)} ${pick(action)} ${pick(thing)} ${pick(company)}, ${pick(feeling)}.`,
    created_at: new Date(first - (count - index) * 60_000).toISOString(),
  }));
}

async function load(client: Client, conversation: Conversation, userId: string, captions: boolean, distractors: number): Promise<Set<string>> {
  const items: Record<string, unknown>[] = distractorItems(conversation, userId, distractors);
  const turnIds = new Set<string>();
  for (const session of sessionsOf(conversation)) {
    session.turns.forEach((turn, position) => {
      turnIds.add(turn.dia_id);
      const caption = captions && turn.blip_caption !== undefined ? ` [image: ${turn.blip_caption}]` : '';
      items.push({
        user_id: userId,
        session_id: `session-${session.index}`,
        text: `${turn.speaker}: ${turn.text}${caption}`,
        // A chat client stamps each message; a second apart keeps the session's order.
        created_at: new Date(session.date.getTime() + position * 1000).toISOString(),
        metadata: { dia_id: turn.dia_id },
      });
    });
  }
  const taskIds: string[] = [];
  for (let start = 0; start < items.length; start += 1000) {
    const accepted = await client.request<{ items: { task_id: string }[] }>('POST', '/memory/batch', { items: items.slice(start, start + 1000) });
    taskIds.push(...accepted.items.map((item) => item.task_id));
  }
  await waitForTasks(client, taskIds);
  return turnIds;
}

interface Tally {
  questions: number;
  found: Record<number, number>;
}

const newTally = (): Tally => ({ questions: 0, found: Object.fromEntries(CUTOFFS.map((k) => [k, 0])) });

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function evaluate(client: Client, conversations: readonly Conversation[], options: { captions: boolean; context: number; distractors: number }) {
  const overall = newTally();
  const byCategory = new Map<number, Tally>();
  const latencies: number[] = [];
  const run = randomUUID().slice(0, 8);
  for (const conversation of conversations) {
    const userId = `locomo-${conversation.sample_id}-${run}`;
    const turnIds = await load(client, conversation, userId, options.captions, options.distractors);
    for (const qa of conversation.qa) {
      if (qa.category < 1 || qa.category > 4) continue;
      const evidence = cleanEvidence(qa.evidence ?? [], turnIds);
      if (evidence.length === 0) continue;
      const started = performance.now();
      const { results } = await client.request<{ results: SearchHit[] }>('POST', '/memory/search', {
        query: qa.question,
        user_id: userId,
        top_k: Math.max(...CUTOFFS),
        ...(options.context > 0 ? { context: options.context } : {}),
      });
      latencies.push(performance.now() - started);
      const ranked = results.map((hit) => hit.metadata['dia_id']);
      const tally = byCategory.get(qa.category) ?? newTally();
      byCategory.set(qa.category, tally);
      for (const target of [overall, tally]) {
        target.questions += 1;
        for (const k of CUTOFFS) {
          const top = new Set(ranked.slice(0, k));
          target.found[k] = (target.found[k] ?? 0) + evidence.filter((id) => top.has(id)).length / evidence.length;
        }
      }
    }
  }
  latencies.sort((a, b) => a - b);
  const recall = (tally: Tally): Record<string, number> => Object.fromEntries(CUTOFFS.map((k) => [`r@${k}`, round((100 * (tally.found[k] ?? 0)) / Math.max(1, tally.questions))]));
  return {
    questions: overall.questions,
    overall: recall(overall),
    categories: Object.fromEntries(
      [...byCategory.entries()].sort(([a], [b]) => a - b).map(([category, tally]) => [category, { name: CATEGORY_NAMES[category] ?? String(category), questions: tally.questions, recall: recall(tally) }]),
    ),
    latencyMs: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), max: round(latencies.at(-1) ?? 0) },
  };
}

const round = (value: number) => Math.round(value * 10) / 10;

type Report = Awaited<ReturnType<typeof evaluate>>;

function printTable(report: Report): void {
  const header = ['', 'questions', ...CUTOFFS.map((k) => `R@${k}`)];
  const rows: string[][] = [
    ...Object.entries(report.categories).map(([category, row]) => [
      `${category} ${row.name}`,
      String(row.questions),
      ...CUTOFFS.map((k) => String(row.recall[`r@${k}`] ?? '')),
    ]),
    ['all', String(report.questions), ...CUTOFFS.map((k) => String(report.overall[`r@${k}`] ?? ''))],
  ];
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(`search latency: p50 ${report.latencyMs.p50} ms, p95 ${report.latencyMs.p95} ms, max ${report.latencyMs.max} ms`);
}

/** ENGRAM_EMBED_RUNTIME of this shell, to compare the bundled model's runtimes. */
function runtimeFromEnvironment(): Record<string, string> {
  const runtime = process.env['ENGRAM_EMBED_RUNTIME'];
  return runtime === undefined ? {} : { ENGRAM_EMBED_RUNTIME: runtime };
}

async function startEmbedded(): Promise<{ url: string; key: string; stop: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-locomo-'));
  const key = `eval-${randomUUID()}`;
  let node: RunningNode;
  try {
    const config = loadConfig(
      { PORT: '0', HOST: '127.0.0.1', ENGRAM_API_KEY: key, ENGRAM_DATA_DIR: dataDir, ENGRAM_RATE_LIMIT_PER_MINUTE: '1000000', ...runtimeFromEnvironment() },
      { secretsDir: join(dataDir, 'no-secrets') },
    );
    node = await startNode(config, { api: true, worker: true }, pino({ level: 'silent' }));
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: node.url ?? '',
    key,
    async stop() {
      await node.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: DEFAULT_DATA },
      url: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'string' },
      'no-captions': { type: 'boolean', default: false },
      context: { type: 'string', default: '0' },
      distractors: { type: 'string', default: '0' },
    },
  });
  if ((values.url === undefined) !== (values.key === undefined)) throw new Error('--url and --key go together');
  const conversations = JSON.parse(await readFile(values.data, 'utf8')) as Conversation[];
  const server = values.url === undefined ? await startEmbedded() : { url: values.url.replace(/\/$/, ''), key: values.key ?? '', stop: async () => {} };
  try {
    const client = new Client(server.url, server.key);
    const report = await evaluate(client, conversations, { captions: !values['no-captions'], context: Number(values.context), distractors: Number(values.distractors) });
    const distracted = Number(values.distractors) > 0 ? `, each after ${values.distractors} distractor turns` : '';
    console.log(`LoCoMo evidence recall through ${values.url ?? 'an embedded Engram'} (${conversations.length} conversations${distracted})`);
    printTable(report);
    if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await server.stop();
  }
}

await main();
