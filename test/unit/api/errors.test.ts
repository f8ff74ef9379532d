import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { toErrorResponse } from '../../../src/api/errors.js';
import { VectorStoreError } from '../../../src/adapters/chroma/errors.js';
import { EmbedderMisconfiguredError } from '../../../src/adapters/embedding/errors.js';
import { DependencyUnavailableError, NotFoundError, ValidationError } from '../../../src/domain/errors.js';

const logger = pino({ level: 'silent' });

describe('the error mapper', () => {
  it('turns an unexpected error into a generic 500 that reveals nothing', () => {
    const response = toErrorResponse(new Error('connection string postgres://admin:pw@db failed at line 42'), logger);
    assert.equal(response.status, 500);
    assert.deepEqual(response.body, { error: { code: 'internal', message: 'an internal error occurred' } });
  });

  it('maps a dependency outage to 503 with its code and no internal details', () => {
    const response = toErrorResponse(new DependencyUnavailableError('chroma', new Error('ECONNREFUSED 127.0.0.1:8000')), logger);
    assert.equal(response.status, 503);
    assert.equal(response.body.error.code, 'dependency_unavailable');
    assert.doesNotMatch(JSON.stringify(response.body), /ECONNREFUSED/);
  });

  it("answers a dependency's failure with its code and a generic message, not what the dependency said", () => {
    const chroma = toErrorResponse(
      new VectorStoreError('chroma refused POST /collections/engram_b0/query: /data/chroma/ab12 segment reader failed', { status: 500 }),
      logger,
    );
    assert.equal(chroma.status, 503);
    assert.deepEqual(chroma.body, {
      error: { code: 'vector_store_error', message: 'a dependency of engram is unavailable; try again shortly' },
    });
    const embedder = toErrorResponse(new EmbedderMisconfiguredError(401), logger);
    assert.equal(embedder.body.error.code, 'embedder_misconfigured');
    assert.doesNotMatch(JSON.stringify(embedder.body), /ENGRAM_EMBED|401/);
  });

  it('keeps the message and details of client errors', () => {
    const invalid = toErrorResponse(new ValidationError('limit must be from 1 to 1000', { field: 'limit' }), logger);
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.body.error, { code: 'invalid_input', message: 'limit must be from 1 to 1000', details: { field: 'limit' } });
    assert.equal(toErrorResponse(new NotFoundError('memory'), logger).status, 404);
  });
});
