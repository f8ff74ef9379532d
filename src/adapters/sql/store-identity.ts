import { randomUUID } from 'node:crypto';
import { DomainError } from '../../domain/errors.js';
import { recordOnce } from './settings.js';
import type { SqlClient } from './sql-client.js';

const SETTING = 'store_id';

/**
 * The store's id: a random one the first process to ask records, which every later one reads. A
 * copy of the database (a restored backup) keeps it.
 */
export async function storeIdentity(client: SqlClient): Promise<string> {
  const id = await recordOnce<unknown>(client, SETTING, randomUUID());
  if (typeof id !== 'string') throw new DomainError('internal', 'store_identity_lost', 'the store identity was not stored');
  return id;
}
