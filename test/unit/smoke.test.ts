import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIdentifier } from '../../src/domain/ids.js';
describe('ids', () => { it('accepts uuids', () => { assert.equal(isIdentifier('0b9d1f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b'), true); }); });
