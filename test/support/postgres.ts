import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPostgresMetadataStore } from '../../src/adapters/postgres/postgres-metadata-store.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { storeOfSuite } from './embedded-store.js';
import { silentLogger } from './logger.js';

/** The machine's PostgreSQL 15 (trust auth); override with TEST_POSTGRES_URL. */
export const POSTGRES_ADMIN_URL = process.env['TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database that the test owns; of the C locale (ASCII-only case rules) when asked. */
export async function createTestDatabase(options: { readonly cLocale?: boolean } = {}): Promise<TestDatabase> {
  const name = `engram_test_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${options.cLocale === true ? ` LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A PostgreSQL store of the suite's own (see storeOfSuite), in a fresh database dropped after it. */
export function serverStoreOfSuite(): () => MetadataStore {
  return storeOfSuite(async () => {
    const database = await createTestDatabase();
    const store = await createPostgresMetadataStore({ url: database.url, logger: silentLogger() }).catch(async (error: unknown) => {
      await database.drop();
      throw error;
    });
    return {
      store,
      async close() {
        await store.close();
        await database.drop();
      },
    };
  });
}
