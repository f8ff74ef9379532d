import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DEFAULT_PII_ENTITY_TYPES } from '../../../src/domain/pii.js';
import { createRedactor } from '../../../src/adapters/redaction/redactor.js';
import {
  createThreadedRedactor,
  startRedactionThread,
  type RedactionThreadData,
  type ThreadedRedactor,
} from '../../../src/adapters/redaction/threaded-redactor.js';
import { silentLogger } from '../../support/logger.js';

const entities = DEFAULT_PII_ENTITY_TYPES;
const inPlace = createRedactor({ entities });
const PROSE = 'We walked along the river after lunch and talked about the garden and the new books. ';

/** A text of about `length` characters with personal data at its start, middle and end. */
function longText(length: number, seed: number): string {
  const filler = PROSE.repeat(Math.ceil(length / PROSE.length)).slice(0, length);
  const middle = Math.floor(length / 2);
  return (
    `Mail ann.${seed}@example.com first. ` +
    filler.slice(0, middle) +
    ` call +44 20 7946 09${String(seed % 100).padStart(2, '0')} then ` +
    filler.slice(middle) +
    ` card 4111 1111 1111 1111, key sk_live_4eC39HqLyjWDarjtT1zdp7d${seed % 10}`
  );
}

/** Starts threads as `start` does, counting them. */
function counted(start: (data: RedactionThreadData) => Worker): { starts: number; start: (data: RedactionThreadData) => Worker } {
  const counter = {
    starts: 0,
    start: (data: RedactionThreadData): Worker => {
      counter.starts += 1;
      return start(data);
    },
  };
  return counter;
}

/** A thread that says it is ready, then ends at the first text it is sent. */
function dyingThread(): Worker {
  return new Worker(
    "const { parentPort } = require('node:worker_threads');" +
      "parentPort.postMessage({ type: 'ready' });" +
      'parentPort.on(\'message\', () => process.exit(7));',
    { eval: true },
  );
}

/** A thread that answers every text with an error. */
function failingThread(): Worker {
  return new Worker(
    "const { parentPort } = require('node:worker_threads');" +
      "parentPort.postMessage({ type: 'ready' });" +
      "parentPort.on('message', (m) => parentPort.postMessage({ type: 'error', id: m.id, message: 'no' }));",
    { eval: true },
  );
}

describe('threaded redactor', () => {
  const opened: ThreadedRedactor[] = [];
  const open = (start: (data: RedactionThreadData) => Worker, inlineUpToChars = 500): ThreadedRedactor => {
    const redactor = createThreadedRedactor({ entities, logger: silentLogger(), inlineUpToChars, startThread: start });
    opened.push(redactor);
    return redactor;
  };
  after(async () => {
    await Promise.all(opened.map((redactor) => redactor.close()));
  });

  it('redacts long texts on its thread exactly as in place, and short ones without starting it', async () => {
    const threads = counted(startRedactionThread);
    const redactor = open(threads.start);
    const short = 'Write to bo@example.com';
    assert.equal(await redactor.redactText(short), inPlace.redact(short).text);
    assert.equal(threads.starts, 0);
    const texts = [600, 2_000, 9_000, 32_000].map((length, seed) => longText(length, seed));
    const redacted = await Promise.all(texts.map((text) => redactor.redactText(text)));
    assert.equal(threads.starts, 1);
    for (const [index, text] of texts.entries()) {
      assert.equal(redacted[index], inPlace.redact(text).text);
      assert.ok(!redacted[index]?.includes('@example.com'), 'an email is left in a long text');
      assert.ok(redacted[index]?.includes('[EMAIL]') && redacted[index]?.includes('[CREDIT_CARD]'));
    }
  });

  it('redacts in place the texts of a thread that exits, and starts another for the next', async () => {
    const threads = counted(dyingThread);
    const redactor = open(threads.start);
    const first = longText(1_000, 1);
    assert.equal(await redactor.redactText(first), inPlace.redact(first).text);
    const second = longText(1_000, 2);
    assert.equal(await redactor.redactText(second), inPlace.redact(second).text);
    assert.equal(threads.starts, 2);
  });

  it('redacts in place a text its thread fails on', async () => {
    const redactor = open(failingThread);
    const text = longText(3_000, 3);
    assert.equal(await redactor.redactText(text), inPlace.redact(text).text);
  });

  it('redacts in place while its thread cannot start, and does not try again at once', async () => {
    const threads = counted(() => new Worker("throw new Error('cannot start')", { eval: true }));
    const redactor = open(threads.start);
    for (const seed of [4, 5, 6]) {
      const text = longText(1_500, seed);
      assert.equal(await redactor.redactText(text), inPlace.redact(text).text);
    }
    assert.equal(threads.starts, 1);
  });

  it('still redacts once closed, in place', async () => {
    const threads = counted(startRedactionThread);
    const redactor = open(threads.start);
    const before = longText(800, 7);
    const pending = redactor.redactText(before);
    await redactor.close();
    assert.equal(await pending, inPlace.redact(before).text);
    const later = longText(800, 8);
    assert.equal(await redactor.redactText(later), inPlace.redact(later).text);
    assert.equal(threads.starts, 1);
  });
});
