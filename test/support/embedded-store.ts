import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { createPgliteMetadataStore } from '../../src/adapters/pglite/pglite-metadata-store.js';
import type { MetadataStore, NewWriteTask } from '../../src/ports/metadata-store.js';
import { silentLogger } from './logger.js';

/** A write of one memory of `tenantId`, as the accept path makes it. */
export function newWriteTask(tenantId: string, text = 'the train leaves at nine'): NewWriteTask {
  return {
    taskId: randomUUID(),
    idempotencyKey: null,
    draft: {
      id: randomUUID(),
      tenantId,
      userId: 'user-1',
      sessionId: 'session-1',
      role: 'user',
      text,
      createdAt: new Date(),
      metadata: {},
    },
  };
}

/**
 * An embedded store of the suite's own, migrated before its tests and removed after them, in a
 * folder named from `prefix`. Call in a `describe`; the function answers the store once it is open.
 */
export function embeddedStoreOfSuite(prefix: string): () => MetadataStore {
  let folder: string | null = null;
  let store: MetadataStore | null = null;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), prefix));
    store = await createPgliteMetadataStore({ dataDir: folder, logger: silentLogger() });
    await store.migrate();
  });
  after(async () => {
    await store?.close();
    if (folder !== null) await rm(folder, { recursive: true, force: true });
  });
  return () => {
    if (store === null) throw new Error('the store opens before the suite\'s tests');
    return store;
  };
}
