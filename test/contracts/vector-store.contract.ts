import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DependencyUnavailableError, EmbeddingModelMismatchError, VectorStoreInUseError } from '../../src/domain/errors.js';
import type { MetadataCondition, SearchScope } from '../../src/domain/filters.js';
import type { Metadata, Role } from '../../src/domain/memory.js';
import type { EmbeddingModelInfo } from '../../src/ports/embedder.js';
import type { VectorRecord, VectorStore } from '../../src/ports/vector-store.js';

/** What the shared suite needs from one implementation of VectorStore. */
export interface VectorStoreHarness {
  readonly store: VectorStore;
  /** Another store on the same backend, as a second process would hold it. */
  openAnother(): VectorStore;
  /** The name that DependencyUnavailableError carries when the backend is down. */
  readonly dependency: string;
  /** Makes the backend unreachable, keeping its data; `resume` brings it back. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

const DIMENSIONS = 4;
const MODEL: EmbeddingModelInfo = { id: 'contract-model@1', dimensions: DIMENSIONS };

/** A vector of the given length across the components after the first, its direction drawn from `seed`. */
function aside(seed: number, length: number): number[] {
  const side = Array.from({ length: DIMENSIONS - 1 }, (_, index) => Math.sin((seed + 1) * 12.9898 * (index + 1) + (index + 1) * 78.233));
  const norm = Math.hypot(...side);
  return side.map((value) => (value / norm) * length);
}

/** A unit vector pointing along the given components. */
export function direction(...components: number[]): Float32Array {
  const padded = Array.from({ length: DIMENSIONS }, (_, index) => components[index] ?? 0);
  const length = Math.hypot(...padded);
  return Float32Array.from(padded, (value) => value / length);
}

export interface Owner {
  readonly tenantId: string;
  readonly userId: string;
}

export function newOwner(): Owner {
  return { tenantId: `t-${randomUUID()}`, userId: `u-${randomUUID()}` };
}

export function vectorRecord(
  owner: Owner,
  embedding: Float32Array,
  fields: { id?: string; sessionId?: string; role?: Role; createdAt?: Date; metadata?: Metadata } = {},
): VectorRecord {
  return {
    id: fields.id ?? randomUUID(),
    tenantId: owner.tenantId,
    userId: owner.userId,
    sessionId: fields.sessionId ?? 'session-1',
    role: fields.role ?? 'user',
    createdAt: fields.createdAt ?? new Date('2025-01-01T00:00:00Z'),
    metadata: fields.metadata ?? {},
    embedding,
  };
}

/** The shared behaviour every VectorStore has to show. */
export function describeVectorStoreContract(name: string, setUp: () => Promise<VectorStoreHarness>): void {
  describe(`VectorStore contract: ${name}`, () => {
    let harness: VectorStoreHarness;
    let store: VectorStore;

    before(async () => {
      harness = await setUp();
      store = harness.store;
      await store.bindModel(MODEL);
    });
    after(async () => {
      await harness.close();
    });

    const ids = async (scope: SearchScope, embedding = direction(1), topK = 10): Promise<string[]> =>
      (await store.query({ scope, embedding, topK })).map((match) => match.id);

    describe('query', () => {
      it('finds the closest vector first, with cosine scores in [-1, 1] from best to worst', async () => {
        const owner = newOwner();
        await store.upsert([
          vectorRecord(owner, direction(-1), { id: 'opposite' }),
          vectorRecord(owner, direction(1, 1), { id: 'diagonal' }),
          vectorRecord(owner, direction(1), { id: 'same' }),
          vectorRecord(owner, direction(0, 1), { id: 'orthogonal' }),
        ]);

        const matches = await store.query({ scope: owner, embedding: direction(1), topK: 10 });

        assert.deepEqual(
          matches.map((match) => match.id),
          ['same', 'diagonal', 'orthogonal', 'opposite'],
        );
        const scores = matches.map((match) => match.score);
        const expected = [1, Math.SQRT1_2, 0, -1];
        scores.forEach((score, index) => assert.ok(Math.abs(score - (expected[index] ?? NaN)) < 1e-4, `score ${score}`));
        assert.ok(scores.every((score) => score >= -1 - 1e-6 && score <= 1 + 1e-6));
      });

      it('returns at most topK matches', async () => {
        const owner = newOwner();
        await store.upsert([1, 2, 3, 4, 5].map((step) => vectorRecord(owner, direction(1, step / 10))));

        assert.equal((await store.query({ scope: owner, embedding: direction(1), topK: 2 })).length, 2);
      });

      it('returns nothing for a user it has never seen', async () => {
        assert.deepEqual(await ids(newOwner()), []);
      });

      it("never shows a tenant the vectors of another tenant's user with the same user id", async () => {
        const owner = newOwner();
        const sameUserElsewhere = { tenantId: `t-${randomUUID()}`, userId: owner.userId };
        await store.upsert([vectorRecord(owner, direction(1), { id: 'mine' })]);

        assert.deepEqual(await ids(sameUserElsewhere), []);
        assert.deepEqual(await store.listIds(sameUserElsewhere.tenantId, sameUserElsewhere.userId), []);
        await store.removeUser(sameUserElsewhere.tenantId, sameUserElsewhere.userId);
        assert.deepEqual(await ids(owner), ['mine']);
      });

      it('keeps the same memory id of two tenants apart', async () => {
        const owner = newOwner();
        const elsewhere = newOwner();
        await store.upsert([vectorRecord(owner, direction(1), { id: 'shared-id' })]);
        await store.upsert([vectorRecord(elsewhere, direction(0, 1), { id: 'shared-id' })]);
        await store.remove(elsewhere.tenantId, elsewhere.userId, ['shared-id']);

        const [mine] = await store.query({ scope: owner, embedding: direction(1), topK: 10 });
        assert.equal(mine?.id, 'shared-id');
        assert.ok(Math.abs((mine?.score ?? 0) - 1) < 1e-4, 'the other tenant neither replaced nor removed it');
        assert.deepEqual(await ids(elsewhere), []);
      });

      it('returns none but the ids it is given, those it holds, when the caller names them', async () => {
        const owner = newOwner();
        await store.upsert([
          vectorRecord(owner, direction(1), { id: 'a' }),
          vectorRecord(owner, direction(1, 1), { id: 'b' }),
          vectorRecord(owner, direction(0, 1), { id: 'c' }),
        ]);
        const named = async (given: readonly string[]): Promise<string[]> =>
          (await store.query({ scope: owner, embedding: direction(1), topK: 10, ids: given })).map((match) => match.id);

        assert.ok((await store.idsWanted(owner.tenantId, owner.userId)) >= 3, 'a small owner takes their ids');
        assert.deepEqual(await named(['a', 'c']), ['a', 'c']);
        assert.deepEqual(await named(['c', 'written-later']), ['c'], 'an id without a vector yet is no failure');
        assert.deepEqual(await named([]), []);
        assert.deepEqual(await ids(owner), ['a', 'b', 'c']);
      });

      it("never shows a vector of another owner for an id the caller names", async () => {
        const owner = newOwner();
        const sameUserElsewhere = { tenantId: `t-${randomUUID()}`, userId: owner.userId };
        const neighbour = { tenantId: owner.tenantId, userId: `u-${randomUUID()}` };
        await store.upsert([vectorRecord(sameUserElsewhere, direction(1), { id: 'shared-id' }), vectorRecord(neighbour, direction(1), { id: 'theirs' })]);
        await store.upsert([vectorRecord(owner, direction(0, 1), { id: 'mine' })]);

        const found = await store.query({ scope: owner, embedding: direction(1), topK: 10, ids: ['shared-id', 'theirs', 'mine'] });
        assert.deepEqual(
          found.map((match) => match.id),
          ['mine'],
        );
        assert.ok(Math.abs((found[0]?.score ?? 0) - 0) < 1e-4, "the owner's own vector, not the other tenant's");
      });

      it('keeps the users of one tenant apart', async () => {
        const owner = newOwner();
        const neighbour = { tenantId: owner.tenantId, userId: `u-${randomUUID()}` };
        await store.upsert([
          vectorRecord(owner, direction(1), { id: 'mine' }),
          vectorRecord(neighbour, direction(1), { id: 'theirs' }),
        ]);

        assert.deepEqual(await ids(owner), ['mine']);
        assert.deepEqual(await ids(neighbour), ['theirs']);
      });

      it('narrows the search to one session', async () => {
        const owner = newOwner();
        await store.upsert([
          vectorRecord(owner, direction(1), { id: 'a1', sessionId: 'a' }),
          vectorRecord(owner, direction(1, 1), { id: 'b1', sessionId: 'b' }),
          vectorRecord(owner, direction(0, 1), { id: 'a2', sessionId: 'a' }),
        ]);

        assert.deepEqual(await ids({ ...owner, sessionId: 'a' }), ['a1', 'a2']);
        assert.deepEqual(await ids({ ...owner, sessionId: 'unknown' }), []);
      });

      it('filters on metadata by equality, inequality, membership and numeric ranges', async () => {
        const owner = newOwner();
        const records = [1, 2, 3, 4, 5].map((priority) =>
          vectorRecord(owner, direction(1, priority / 10), {
            id: `p${priority}`,
            metadata: { priority, topic: priority % 2 === 0 ? 'work' : 'home', pinned: priority === 3 },
          }),
        );
        await store.upsert([...records, vectorRecord(owner, direction(1, 0.6), { id: 'bare' })]);
        const where = async (...metadata: MetadataCondition[]): Promise<string[]> =>
          (await ids({ ...owner, metadata })).sort();

        assert.deepEqual(await where({ key: 'topic', op: 'eq', value: 'work' }), ['p2', 'p4']);
        assert.deepEqual(await where({ key: 'pinned', op: 'eq', value: true }), ['p3']);
        assert.deepEqual(await where({ key: 'priority', op: 'eq', value: 3 }), ['p3']);
        assert.deepEqual(await where({ key: 'topic', op: 'ne', value: 'work' }), ['bare', 'p1', 'p3', 'p5']);
        assert.deepEqual(await where({ key: 'priority', op: 'in', value: [1, 5] }), ['p1', 'p5']);
        assert.deepEqual(await where({ key: 'priority', op: 'in', value: [2, 'home'] }), ['p2']);
        // Whole and fractional numbers in one list, a whole one first; a whole number past 64 bits.
        assert.deepEqual(await where({ key: 'priority', op: 'in', value: [4, 4.5] }), ['p4']);
        assert.deepEqual(await where({ key: 'priority', op: 'nin', value: [4, 4.5] }), ['bare', 'p1', 'p2', 'p3', 'p5']);
        assert.deepEqual(await where({ key: 'priority', op: 'eq', value: 1e19 }), []);
        assert.deepEqual(await where({ key: 'topic', op: 'in', value: [] }), []);
        assert.deepEqual(await where({ key: 'priority', op: 'nin', value: [1, 2, 3] }), ['bare', 'p4', 'p5']);
        assert.deepEqual(await where({ key: 'priority', op: 'nin', value: [] }), ['bare', 'p1', 'p2', 'p3', 'p4', 'p5']);
        assert.deepEqual(await where({ key: 'priority', op: 'gt', value: 4 }), ['p5']);
        assert.deepEqual(await where({ key: 'priority', op: 'gte', value: 4 }), ['p4', 'p5']);
        assert.deepEqual(await where({ key: 'priority', op: 'lt', value: 2 }), ['p1']);
        assert.deepEqual(await where({ key: 'priority', op: 'lte', value: 2 }), ['p1', 'p2']);
        assert.deepEqual(await where({ key: 'priority', op: 'lt', value: 2.5 }), ['p1', 'p2']);
        assert.deepEqual(
          await where({ key: 'priority', op: 'gte', value: 2 }, { key: 'topic', op: 'eq', value: 'home' }),
          ['p3', 'p5'],
        );
      });

      it('filters on creation time with exclusive bounds, together with other filters', async () => {
        const owner = newOwner();
        const day = (n: number): Date => new Date(Date.UTC(2025, 0, n, 12, 0, 0, 123));
        await store.upsert(
          [1, 2, 3, 4].map((n) =>
            vectorRecord(owner, direction(1, n / 10), { id: `d${n}`, createdAt: day(n), sessionId: n === 4 ? 'b' : 'a' }),
          ),
        );

        assert.deepEqual((await ids({ ...owner, createdAfter: day(2) })).sort(), ['d3', 'd4']);
        assert.deepEqual((await ids({ ...owner, createdBefore: day(2) })).sort(), ['d1']);
        assert.deepEqual((await ids({ ...owner, createdAfter: day(1), createdBefore: day(4) })).sort(), ['d2', 'd3']);
        assert.deepEqual((await ids({ ...owner, createdAfter: day(2), sessionId: 'a' })).sort(), ['d3']);
      });
    });

    describe('upsert', () => {
      it('keeps one vector per id when the same id is written again', async () => {
        const owner = newOwner();
        await store.upsert([vectorRecord(owner, direction(0, 1), { id: 'again' })]);
        await store.upsert([vectorRecord(owner, direction(1), { id: 'again' })]);

        const matches = await store.query({ scope: owner, embedding: direction(1), topK: 10 });
        assert.equal(matches.length, 1);
        assert.ok(Math.abs((matches[0]?.score ?? 0) - 1) < 1e-4, 'the later vector replaced the earlier one');
        assert.deepEqual(await store.listIds(owner.tenantId, owner.userId), ['again']);
      });

      it('keeps the last record when one batch holds an id twice', async () => {
        const owner = newOwner();
        await store.upsert([
          vectorRecord(owner, direction(0, 1), { id: 'twice' }),
          vectorRecord(owner, direction(1), { id: 'twice' }),
        ]);

        const matches = await store.query({ scope: owner, embedding: direction(1), topK: 10 });
        assert.equal(matches.length, 1);
        assert.ok(Math.abs((matches[0]?.score ?? 0) - 1) < 1e-4);
      });

      it('writes the records of many users in one call', async () => {
        const owners = [newOwner(), newOwner(), newOwner()];
        await store.upsert(owners.flatMap((owner) => [vectorRecord(owner, direction(1)), vectorRecord(owner, direction(0, 1))]));

        for (const owner of owners) assert.equal((await store.listIds(owner.tenantId, owner.userId)).length, 2);
      });
    });

    describe('remove and removeUser', () => {
      it('removes only the given ids, and ignores ids it does not hold', async () => {
        const owner = newOwner();
        await store.upsert(['keep', 'drop'].map((id) => vectorRecord(owner, direction(1), { id })));

        await store.remove(owner.tenantId, owner.userId, ['drop', 'never-written']);

        assert.deepEqual(await ids(owner), ['keep']);
        assert.deepEqual(await store.listIds(owner.tenantId, owner.userId), ['keep']);
      });

      it('erases every vector of a user and nobody else', async () => {
        const owner = newOwner();
        const neighbour = { tenantId: owner.tenantId, userId: `u-${randomUUID()}` };
        await store.upsert([vectorRecord(owner, direction(1)), vectorRecord(neighbour, direction(1), { id: 'stays' })]);

        await store.removeUser(owner.tenantId, owner.userId);

        assert.deepEqual(await ids(owner), []);
        assert.deepEqual(await store.listIds(owner.tenantId, owner.userId), []);
        assert.deepEqual(await ids(neighbour), ['stays']);
      });

      it('accepts removals for users and ids it has never seen', async () => {
        const stranger = newOwner();
        await store.remove(stranger.tenantId, stranger.userId, ['nothing']);
        await store.removeUser(stranger.tenantId, stranger.userId);

        assert.deepEqual(await store.listIds(stranger.tenantId, stranger.userId), []);
      });

      it('takes new vectors for a user after erasing them, also through another store', async () => {
        const owner = newOwner();
        const other = harness.openAnother();
        await other.bindModel(MODEL);
        await store.upsert([vectorRecord(owner, direction(1), { id: 'before' })]);
        assert.deepEqual(await ids(owner), ['before']);

        await other.removeUser(owner.tenantId, owner.userId);
        assert.deepEqual(await ids(owner), []);
        await store.upsert([vectorRecord(owner, direction(1), { id: 'after' })]);

        assert.deepEqual(await ids(owner), ['after']);
        assert.deepEqual(await other.listIds(owner.tenantId, owner.userId), ['after']);
        await other.close();
      });
    });

    describe('a user who grows large', () => {
      /**
       * Vectors at growing angles from direction(1): the closest to it is m-0, then m-1, … Each
       * leans toward a side of its own: vectors along one curve make a chain of an HNSW graph,
       * where Chroma 1.0 loses records far more often (see add-then-replace.ts).
       */
      const growing = (owner: Owner, from: number, count: number): VectorRecord[] =>
        Array.from({ length: count }, (_, index) =>
          vectorRecord(owner, direction(1, ...aside(from + index, (from + index) / 50)), { id: `m-${from + index}` }),
        );
      const grow = async (owner: Owner, total: number): Promise<void> => {
        for (let from = 0; from < total; from += 25) await store.upsert(growing(owner, from, Math.min(25, total - from)));
      };

      it('keeps every vector and the exact ranking while a user grows', async () => {
        const owner = newOwner();
        await grow(owner, 150);

        assert.deepEqual(await ids(owner, direction(1), 5), ['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
        assert.equal((await store.listIds(owner.tenantId, owner.userId)).length, 150);
        const other = harness.openAnother();
        await other.bindModel(MODEL);
        assert.deepEqual(
          (await other.query({ scope: owner, embedding: direction(1), topK: 3 })).map((match) => match.id),
          ['m-0', 'm-1', 'm-2'],
        );
        await other.close();
      });

      it("keeps a large user's vectors away from neighbours and from the same user id in another tenant", async () => {
        const owner = newOwner();
        const neighbour = { tenantId: owner.tenantId, userId: `u-${randomUUID()}` };
        const sameUserElsewhere = { tenantId: `t-${randomUUID()}`, userId: owner.userId };
        await store.upsert([vectorRecord(neighbour, direction(0, 1), { id: 'n' }), vectorRecord(sameUserElsewhere, direction(0, 1), { id: 'e' })]);
        await grow(owner, 120);
        await store.upsert([vectorRecord(neighbour, direction(0, 0, 1), { id: 'n2' })]);

        assert.deepEqual((await ids(neighbour, direction(1), 100)).sort(), ['n', 'n2']);
        assert.deepEqual(await ids(sameUserElsewhere, direction(1), 100), ['e']);
        assert.deepEqual(await store.listIds(sameUserElsewhere.tenantId, sameUserElsewhere.userId), ['e']);
        assert.ok((await ids(owner, direction(0, 1), 100)).every((id) => id.startsWith('m-')));
      });

      it('takes writes, removals and erasure of a user after they grew', async () => {
        const owner = newOwner();
        await grow(owner, 120);
        // One request adds a record and moves another; the changes stay away from the best
        // matches, whose ranking is then exact (see add-then-replace.ts for what churn nearby costs).
        await store.upsert([
          vectorRecord(owner, direction(1, ...aside(-1, 0.01)), { id: 'newest' }),
          vectorRecord(owner, direction(0, 1), { id: 'm-100' }),
        ]);
        await store.remove(owner.tenantId, owner.userId, ['m-60']);

        assert.deepEqual(await ids(owner, direction(1), 3), ['m-0', 'newest', 'm-1']);
        assert.deepEqual(await ids(owner, direction(0, 1), 1), ['m-100']);
        const listed = await store.listIds(owner.tenantId, owner.userId);
        assert.equal(listed.length, 120);
        assert.ok(listed.includes('newest') && !listed.includes('m-60'));

        await store.removeUser(owner.tenantId, owner.userId);
        assert.deepEqual(await ids(owner), []);
        assert.deepEqual(await store.listIds(owner.tenantId, owner.userId), []);
        await store.upsert([vectorRecord(owner, direction(1), { id: 'again' })]);
        assert.deepEqual(await ids(owner), ['again']);
      });
    });

    describe('listIds', () => {
      it('lists every id of a user, beyond one page', async () => {
        const owner = newOwner();
        const written = Array.from({ length: 1_234 }, (_, index) => `m-${index}`);
        await store.upsert(written.map((id, index) => vectorRecord(owner, direction(1, index / 1_234), { id })));

        assert.deepEqual((await store.listIds(owner.tenantId, owner.userId)).sort(), [...written].sort());
      });
    });

    describe('bindModel', () => {
      it('accepts the model it recorded, and refuses another one', async () => {
        await store.bindModel(MODEL);
        await assert.rejects(store.bindModel({ id: 'another-model@1', dimensions: DIMENSIONS }), EmbeddingModelMismatchError);
        await assert.rejects(store.bindModel({ id: MODEL.id, dimensions: DIMENSIONS * 2 }), EmbeddingModelMismatchError);
      });

      it('refuses another model in a second process too', async () => {
        const other = harness.openAnother();
        await assert.rejects(other.bindModel({ id: 'another-model@1', dimensions: 8 }), (error: unknown) => {
          assert.ok(error instanceof EmbeddingModelMismatchError);
          assert.equal(error.code, 'embedding_model_mismatch');
          return true;
        });
        await other.close();
      });
    });

    describe('bindStore', () => {
      it("is taken by the first store to bind, kept for it in every process, and refused to another's", async () => {
        const first = `store-${randomUUID()}`;
        await store.bindStore(first);
        await store.bindStore(first);
        const other = harness.openAnother();
        try {
          await other.bindModel(MODEL);
          await other.bindStore(first);
          await assert.rejects(other.bindStore(`store-${randomUUID()}`), (error: unknown) => {
            assert.ok(error instanceof VectorStoreInUseError);
            assert.equal(error.code, 'vector_store_in_use');
            return true;
          });
          // Recording the store kept what the store was set up with.
          await assert.rejects(other.bindModel({ id: 'another-model@1', dimensions: DIMENSIONS }), EmbeddingModelMismatchError);
          const owner = newOwner();
          await other.upsert([vectorRecord(owner, direction(1), { id: 'after-binding' })]);
          assert.deepEqual(await store.listIds(owner.tenantId, owner.userId), ['after-binding']);
        } finally {
          await other.close();
        }
      });
    });

    describe('when the backend is down', () => {
      it('reports it as unavailable, and works again once it is back', async () => {
        const owner = newOwner();
        await store.upsert([vectorRecord(owner, direction(1), { id: 'survives' })]);
        await harness.pause();
        try {
          const isUnavailable = (error: unknown): boolean => {
            assert.ok(error instanceof DependencyUnavailableError, String(error));
            assert.equal(error.dependency, harness.dependency);
            assert.equal(error.retryable, true);
            return true;
          };
          await assert.rejects(store.ping(), isUnavailable);
          await assert.rejects(store.query({ scope: owner, embedding: direction(1), topK: 3 }), isUnavailable);
          await assert.rejects(store.upsert([vectorRecord(owner, direction(1))]), isUnavailable);
          await assert.rejects(store.listIds(owner.tenantId, owner.userId), isUnavailable);
        } finally {
          await harness.resume();
        }

        await store.ping();
        assert.deepEqual(await ids(owner), ['survives']);
      });
    });
  });
}
