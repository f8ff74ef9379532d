/** Synthetic chat memories: sentences of a realistic length from a few templates and word lists. */

const subjects = ['I', 'My sister', 'My manager', 'Our team', 'My dog', 'My neighbour', 'The landlord', 'My partner', 'Grandma', 'The doctor'];
const verbs = ['likes', 'wants', 'booked', 'cancelled', 'mentioned', 'forgot', 'prefers', 'visited', 'ordered', 'planned'];
const objects = [
  'a table at the Italian place downtown',
  'the train to Lisbon on Friday morning',
  'green tea instead of coffee',
  'the dentist appointment next Tuesday',
  'a new pair of running shoes',
  'the quarterly budget review',
  'a weekend hike in the mountains',
  'tickets for the jazz concert',
  'the birthday cake with strawberries',
  'a long call with the insurance company',
  'the blue sofa for the living room',
  'pizza with mushrooms and olives',
];
const tails = ['', ' because it was raining', ' before the holidays', ' with two friends', ' after work', ' for the third time this month', ' again'];

/** A deterministic pseudo-random generator, so two runs send the same workload. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 0x1_0000_0000;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
}

export function memoryText(random: Random, serial: number): string {
  return `${random.pick(subjects)} ${random.pick(verbs)} ${random.pick(objects)}${random.pick(tails)} (note ${serial})`;
}

/** Queries differ from each other, so the query cache does not hide the embedding cost. */
export function queryText(random: Random, serial: number): string {
  return `what did ${random.pick(subjects).toLowerCase()} say about ${random.pick(objects)} ${serial}`;
}

export interface MemoryItem {
  readonly user_id: string;
  readonly session_id: string;
  readonly text: string;
  readonly role: 'user' | 'assistant';
}

export function userId(index: number): string {
  return `bench-user-${index}`;
}

export function memoryItem(random: Random, serial: number, user: string): MemoryItem {
  return { user_id: user, session_id: `session-${serial % 20}`, text: memoryText(random, serial), role: serial % 2 === 0 ? 'user' : 'assistant' };
}
