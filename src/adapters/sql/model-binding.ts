import { DomainError, EmbeddingModelMismatchError } from '../../domain/errors.js';
import type { EmbeddingModelInfo } from '../../ports/embedder.js';
import { readSetting, recordOnce } from './settings.js';
import type { SqlClient } from './sql-client.js';

const SETTING = 'embedding_model';

function describe(model: EmbeddingModelInfo): string {
  return `${model.id} (${model.dimensions} dimensions)`;
}

/** The model recorded by the first to bind; null before any. */
export function boundEmbeddingModel(client: SqlClient): Promise<EmbeddingModelInfo | null> {
  return readSetting<EmbeddingModelInfo>(client, SETTING);
}

/** The first model to bind is recorded; every later one has to be the same. */
export async function bindEmbeddingModel(client: SqlClient, model: EmbeddingModelInfo): Promise<void> {
  const wanted = { id: model.id, dimensions: model.dimensions };
  const stored = await recordOnce<EmbeddingModelInfo>(client, SETTING, wanted);
  if (stored === null) {
    throw new DomainError('internal', 'model_binding_lost', 'the embedding model binding was not stored');
  }
  if (stored.id !== wanted.id || stored.dimensions !== wanted.dimensions) {
    throw new EmbeddingModelMismatchError(describe(stored), describe(wanted));
  }
}
