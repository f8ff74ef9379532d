import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer } from '../support/cli.js';
import { freePort } from '../support/free-port.js';
import { EngramClient } from '../support/http-client.js';

const RAW_PII = [
  'maria.lopez@example.com',
  '+44 20 7946 0958',
  '4111 1111 1111 1111',
  '078-05-1120',
  'GB82 WEST 1234 5698 7654 32',
  '203.0.113.42',
  'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  'lena.marsh@example.org',
  '+44 20 7946 0321',
];
/** Long enough to be redacted on the redaction thread rather than where the write is accepted. */
const LONG_PROSE = 'We walked along the river after lunch and talked about the garden. '.repeat(40);
/** Stored on purpose: proves the scan below can see text that reached the data folder. */
const VISIBLE_MARKER = 'Pumpernickel';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const bytes = Buffer.from(needle, 'utf8');
  const hits: string[] = [];
  for (const file of await filesUnder(dir)) {
    if ((await readFile(file)).includes(bytes)) hits.push(file);
  }
  return hits;
}

describe('with redaction on, raw personal data is never at rest', () => {
  let dataDir: string;
  let server: CliServer;
  /** The long text as Engram stored it, read back through the API. */
  let storedLongText: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'engram-pii-'));
    const port = await freePort();
    const apiKey = `key-${randomUUID()}`;
    server = new CliServer(['start'], { PORT: String(port), ENGRAM_DATA_DIR: dataDir, ENGRAM_API_KEY: apiKey, LOG_LEVEL: 'debug' });
    const url = `http://127.0.0.1:${port}`;
    await server.waitHealthy(url);
    const client = new EngramClient(url, apiKey);
    const user = `user-${randomUUID()}`;
    const texts = [
      `My dog ${VISIBLE_MARKER} likes the park. Write to me at ${RAW_PII[0]} or call ${RAW_PII[1]}.`,
      `My card is ${RAW_PII[2]} and my SSN is ${RAW_PII[3]}.`,
      `Pay the rent to ${RAW_PII[4]}; the server is at ${RAW_PII[5]}; api key ${RAW_PII[6]}`,
      `${LONG_PROSE}Mail ${RAW_PII[7]} or call ${RAW_PII[8]}. ${LONG_PROSE}`,
    ];
    const accepted = await client.request<{ items: { id: string; task_id: string }[] }>('POST', '/memory/batch', {
      items: texts.map((text) => ({ user_id: user, session_id: 's', text })),
    });
    assert.equal(accepted.status, 202);
    for (const item of accepted.body.items) assert.equal(await client.waitForTask(item.task_id), 'completed');
    const search = await client.request('POST', '/memory/search', { query: `card ${RAW_PII[2]}`, user_id: user });
    assert.equal(search.status, 200);
    const longId = accepted.body.items[3]?.id ?? '';
    const stored = await client.request<{ text: string }>('GET', `/memory/${encodeURIComponent(longId)}`);
    assert.equal(stored.status, 200);
    storedLongText = stored.body.text;
    assert.equal(await server.stop(), 0);
  });
  after(async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps stored text readable, so the scan can see what reaches the data folder', async () => {
    assert.ok((await filesContaining(dataDir, VISIBLE_MARKER)).length > 0);
  });

  it('stores a long text with its personal data replaced', () => {
    assert.ok(storedLongText.startsWith(LONG_PROSE), 'the long text is not the one written');
    assert.ok(storedLongText.includes('Mail [EMAIL] or call [PHONE].'), storedLongText.slice(LONG_PROSE.length, -LONG_PROSE.length));
  });

  for (const value of RAW_PII) {
    it(`has no trace of "${value}" in any file of the data folder or in the logs`, async () => {
      assert.deepEqual(await filesContaining(dataDir, value), []);
      assert.ok(!server.output.includes(value), 'a log line holds raw personal data');
    });
  }
});
