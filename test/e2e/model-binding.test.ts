import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer } from '../support/cli.js';
import { freePort } from '../support/free-port.js';

/** Stands in for a remote OpenAI-compatible embeddings API, which cannot be reached here. */
function startEmbeddingsStandIn(port: number, dimensions: number): Promise<Server> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const input = (JSON.parse(body) as { input: string[] }).input;
      const data = input.map((_text, index) => ({ index, embedding: Array.from({ length: dimensions }, (_, i) => (i === index % dimensions ? 1 : 0.01)) }));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ data }));
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('the embedding model binding', () => {
  let dataDir: string;
  let standIn: Server;
  let standInUrl: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'engram-model-'));
    const port = await freePort();
    standIn = await startEmbeddingsStandIn(port, 384);
    standInUrl = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await new Promise((resolve) => standIn.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses to start on vectors made by another model, naming both', async () => {
    const port = await freePort();
    const env = { PORT: String(port), ENGRAM_DATA_DIR: dataDir, ENGRAM_API_KEY: `key-${randomUUID()}` };
    const first = new CliServer(['start'], env);
    await first.waitHealthy(`http://127.0.0.1:${port}`);
    assert.equal(await first.stop(), 0);

    const other = new CliServer(['start'], { ...env, ENGRAM_EMBEDDER: 'openai', ENGRAM_EMBED_URL: standInUrl, ENGRAM_EMBED_MODEL: 'mini-384' });
    const code = await other.exited;
    assert.notEqual(code, 0);
    assert.match(other.output, /use-lite@/);
    assert.match(other.output, /openai:mini-384/);
  });
});
