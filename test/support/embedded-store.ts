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

/** A store a suite opened, and how to close it and remove what it holds. */
export interface OpenedStore {
  readonly store: MetadataStore;
  close(): Promise<void>;
}

/**
 * A store of the suite's own, opened by `open` and migrated before its tests, closed after them.
 * Call in a `describe`; the function answers the store once it is open.
 */
export function storeOfSuite(open: () => Promise<OpenedStore>): () => MetadataStore {
  let opened: OpenedStore | null = null;
  before(async () => {
    opened = await open();
    await opened.store.migrate();
  });
  after(async () => {
    await opened?.close();
  });
  return () => {
    if (opened === null) throw new Error('the store opens before the suite\'s tests');
    return opened.store;
  };
}

/** An embedded store of the suite's own (see storeOfSuite), in a folder named from `prefix`. */
export function embeddedStoreOfSuite(prefix: string): () => MetadataStore {
  return storeOfSuite(async () => {
    const folder = await mkdtemp(join(tmpdir(), prefix));
    const removeFolder = (): Promise<void> => rm(folder, { recursive: true, force: true });
    const store = await createPgliteMetadataStore({ dataDir: folder, logger: silentLogger() }).catch(async (error: unknown) => {
      await removeFolder();
      throw error;
    });
    return {
      store,
      async close() {
        await store.close();
        await removeFolder();
      },
    };
  });
}
