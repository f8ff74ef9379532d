import { createPostgresMetadataStore } from '../../src/adapters/postgres/postgres-metadata-store.js';
import { ApiKeyService } from '../../src/services/api-keys.js';
import { describeApi } from '../contracts/api.contract.js';
import { startTestNode } from '../support/engram-node.js';
import { silentLogger } from '../support/logger.js';

describeApi('distributed: Postgres, Redis with a password, Chroma server', {
  start: () => startTestNode('distributed'),
  async createTenantKey(node, tenant) {
    const store = await createPostgresMetadataStore({ url: node.env['DATABASE_URL'] ?? '', logger: silentLogger() });
    try {
      return (await new ApiKeyService(store.apiKeys).create(tenant, 'test')).key;
    } finally {
      await store.close();
    }
  },
});
