import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it, mock } from 'node:test';
import { EmbeddingModelMismatchError } from '../../src/domain/errors.js';
import type { SearchScope } from '../../src/domain/filters.js';
import type { EmbeddedMemory, Memory, MemoryDraft } from '../../src/domain/memory.js';
import type { WordMatch } from '../../src/ports/memory-retrieval.js';
import type { MetadataStore, NewWriteTask, PendingTaskRef, StaleTasksCursor } from '../../src/ports/metadata-store.js';
import { SCOPED_ROLE } from '../../src/adapters/sql/migrations/0002-row-level-security.js';
import { RowScope } from '../../src/adapters/sql/row-scope.js';
import { Random } from '../../bench/lib/workload.js';
import type { SqlClient } from '../../src/adapters/sql/sql-client.js';

/** A claim's lease no test outlasts. */
const LEASE_MS = 60_000;

/** Makes a store over a fresh, empty database that nothing else uses. */
export type MetadataStoreFactory = () => Promise<MetadataStore>;

function draft(tenantId: string, fields: Partial<MemoryDraft> = {}): MemoryDraft {
  return {
    id: randomUUID(),
    tenantId,
    userId: 'user-1',
    sessionId: 'session-1',
    role: 'user',
    text: 'I prefer window seats',
    createdAt: new Date('2025-03-01T10:00:00.000Z'),
    metadata: { topic: 'travel', priority: 2, pinned: true },
    ...fields,
  };
}

function newTask(memory: MemoryDraft, idempotencyKey: string | null = null): NewWriteTask {
  return { taskId: randomUUID(), draft: memory, idempotencyKey };
}

function embedded(memory: MemoryDraft, version: number, embedding = new Float32Array([0.5, -0.25, 1])): EmbeddedMemory {
  return { ...memory, version, updatedAt: new Date(), embedding };
}

/**
 * Writes 400 long turns of one user in `tenantId`, so that the memories table grows by many pages:
 * enough for the table upkeep to find it due.
 */
export async function growMemories(store: MetadataStore, tenantId: string): Promise<void> {
  const padding = ' and then we talked about it for a while'.repeat(20);
  const drafts = Array.from({ length: 400 }, (_, index) =>
    draft(tenantId, { id: `grown-${index}`, sessionId: `session-${index % 8}`, text: `turn ${index}${padding}` }),
  );
  const accepted = await store.tasks.accept(drafts.map((memory) => newTask(memory)));
  await store.memories.applyMany(drafts.map((memory, index) => embedded(memory, accepted[index]?.seq ?? 0)));
}

/**
 * Words for made-up chat turns: speakers' names in most turns, a few common words, many rare ones,
 * forms of one stem, stopwords, and a word no turn holds.
 */
const CHAT_WORDS = {
  speakers: ['Caroline', 'Melanie'],
  common: ['weekend', 'family', 'painting', 'painted', 'paints', 'run', 'running'],
  rare: ['capybara', 'sanctuary', 'pottery', 'sunflower', 'kayak', 'Lisbon', '1987', 'violin', 'marathon', 'adopt', 'adopted', 'adoption', 'glacier', 'café'],
  stop: ['the', 'and', 'with', 'was', 'we'],
  absent: ['zeppelin'],
};

/** A turn of 2 to 12 words: a speaker, then stopwords, common and rare words at random. */
function chatTurn(random: Random): string {
  const words = [`${random.pick(CHAT_WORDS.speakers)}:`];
  for (let count = 2 + random.int(11); words.length < count; ) {
    const draw = random.next();
    words.push(random.pick(draw < 0.4 ? CHAT_WORDS.stop : draw < 0.75 ? CHAT_WORDS.common : CHAT_WORDS.rare));
  }
  return words.join(' ');
}

/** A query of 1 to 6 words of any kind. */
function chatQuery(random: Random): string[] {
  const kinds = Object.values(CHAT_WORDS);
  return Array.from({ length: 1 + random.int(6) }, () => random.pick(random.pick(kinds)));
}

/**
 * Asserts that two rankings of the same memories agree: the same memories with the same scores
 * (to the last few bits: sums in another order), each in the same place unless tied there.
 */
function assertSameRanking(actual: readonly WordMatch[], expected: readonly WordMatch[], message: string): void {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  assert.equal(actual.length, expected.length, message);
  const expectedScores = new Map(expected.map((match) => [match.id, match.score]));
  actual.forEach((match, place) => {
    const score = expectedScores.get(match.id);
    assert.ok(score !== undefined && close(match.score, score), `${message}: ${match.id} scored ${match.score}, expected ${score}`);
    const there = expected[place];
    assert.ok(there !== undefined && (there.id === match.id || close(there.score, match.score)), `${message}: ${match.id} in place ${place}`);
  });
}

/** The behaviour every MetadataStore has to show, whatever database is behind it. */
export function metadataStoreContract(name: string, open: MetadataStoreFactory): void {
  describe(`${name} metadata store`, () => {
    let store: MetadataStore;
    let tenant: string;
    const newTenant = () => `tenant-${randomUUID()}`;

    before(async () => {
      store = await open();
      await store.migrate();
    });
    after(async () => {
      await store.close();
    });

    /** A real position in the write order, as the worker gets it from an accepted task. */
    async function nextSeq(memory: MemoryDraft): Promise<number> {
      const [accepted] = await store.tasks.accept([newTask(memory)]);
      assert.ok(accepted);
      return accepted.seq;
    }

    describe('migrations', () => {
      it('can run again without changing anything', async () => {
        tenant = newTenant();
        const memory = draft(tenant);
        await store.memories.apply(embedded(memory, await nextSeq(memory)));
        await store.migrate();
        assert.equal((await store.memories.get(tenant, memory.id))?.text, memory.text);
      });

      it('answers a ping', async () => {
        await store.ping();
      });
    });

    describe('tasks', () => {
      it('accepts a batch in one go, with write positions in list order', async () => {
        tenant = newTenant();
        const tasks = Array.from({ length: 250 }, (_, index) => newTask(draft(tenant, { id: `m-${index}` })));
        const accepted = await store.tasks.accept(tasks);
        assert.equal(accepted.length, 250);
        accepted.forEach((task, index) => {
          assert.equal(task.taskId, tasks[index]?.taskId);
          assert.equal(task.memoryId, `m-${index}`);
          assert.equal(task.replayed, false);
        });
        const seqs = accepted.map((task) => task.seq);
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
        assert.equal(new Set(seqs).size, seqs.length);
      });

      it('returns the first task again for a repeated idempotency key, without a second row', async () => {
        tenant = newTenant();
        const [first] = await store.tasks.accept([newTask(draft(tenant, { id: 'a' }), 'key-1')]);
        const retry = newTask(draft(tenant, { id: 'b' }), 'key-1');
        const [again] = await store.tasks.accept([retry]);
        assert.deepEqual(again, { ...first, replayed: true });
        assert.equal(await store.tasks.find(tenant, retry.taskId), null);
      });

      it('tells whether a replayed task still waits for a worker', async () => {
        tenant = newTenant();
        const [first] = await store.tasks.accept([newTask(draft(tenant, { id: 'a' }), 'key-1')]);
        assert.equal(first?.queued, true, 'a task stored now');
        const [unclaimed] = await store.tasks.accept([newTask(draft(tenant, { id: 'a' }), 'key-1')]);
        assert.deepEqual(unclaimed, { ...first, replayed: true, queued: true });
        await store.tasks.claim([first?.taskId ?? ''], LEASE_MS);
        const [claimed] = await store.tasks.accept([newTask(draft(tenant, { id: 'a' }), 'key-1')]);
        assert.deepEqual(claimed, { ...first, replayed: true, queued: false });
      });

      it('refuses a key sent again with another request, storing nothing of its batch', async () => {
        tenant = newTenant();
        const keyed = (id: string, key: string, requestHash: string | null): NewWriteTask => ({ ...newTask(draft(tenant, { id }), key), requestHash });
        const [first] = await store.tasks.accept([keyed('a', 'key-x', 'asked-1')]);
        const [again] = await store.tasks.accept([keyed('a', 'key-x', 'asked-1')]);
        assert.deepEqual(again, { ...first, replayed: true });
        const fresh = keyed('c', 'key-y', 'asked-3');
        await assert.rejects(store.tasks.accept([fresh, keyed('b', 'key-x', 'asked-2')]), { code: 'idempotency_key_reused', kind: 'invalid_input' });
        assert.equal(await store.tasks.find(tenant, fresh.taskId), null);
        // Not compared where either side was not hashed (a key stored before hashes were kept).
        const [unhashed] = await store.tasks.accept([keyed('d', 'key-z', null)]);
        assert.equal((await store.tasks.accept([keyed('e', 'key-z', 'asked-4')]))[0]?.taskId, unhashed?.taskId);
      });

      it('stores a key repeated within one batch once', async () => {
        tenant = newTenant();
        const accepted = await store.tasks.accept([
          newTask(draft(tenant), 'dup'),
          newTask(draft(tenant), null),
          newTask(draft(tenant), 'dup'),
        ]);
        assert.equal(accepted[2]?.taskId, accepted[0]?.taskId);
        assert.deepEqual(
          accepted.map((task) => task.replayed),
          [false, false, true],
        );
      });

      it('stores one task when the same key arrives many times at once', async () => {
        tenant = newTenant();
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.tasks.accept([newTask(draft(tenant, { id: 'same' }), 'racing')])),
        );
        const accepted = results.flat();
        assert.equal(new Set(accepted.map((task) => task.taskId)).size, 1);
        assert.equal(accepted.filter((task) => !task.replayed).length, 1);
      });

      it('keeps idempotency keys apart per tenant', async () => {
        const [one] = await store.tasks.accept([newTask(draft(newTenant()), 'shared-key')]);
        const [two] = await store.tasks.accept([newTask(draft(newTenant()), 'shared-key')]);
        assert.notEqual(one?.taskId, two?.taskId);
        assert.equal(two?.replayed, false);
      });

      it("finds a task for its own tenant only", async () => {
        tenant = newTenant();
        const task = newTask(draft(tenant, { id: 'mine' }));
        await store.tasks.accept([task]);
        assert.deepEqual(await store.tasks.find(tenant, task.taskId), {
          taskId: task.taskId,
          memoryId: 'mine',
          status: 'queued',
          error: null,
        });
        assert.equal(await store.tasks.find(newTenant(), task.taskId), null);
        assert.equal(await store.tasks.find(tenant, randomUUID()), null);
        assert.equal(await store.tasks.find(tenant, 'not-a-task-id'), null);
      });

      it('claims pending tasks with their draft, counting each attempt', async () => {
        tenant = newTenant();
        const memory = draft(tenant);
        const task = newTask(memory);
        const [accepted] = await store.tasks.accept([task]);
        const [claimed] = await store.tasks.claim([task.taskId, randomUUID(), 'junk'], LEASE_MS);
        assert.equal(claimed?.status, 'processing');
        assert.equal(claimed?.attempts, 1);
        assert.equal(claimed?.seq, accepted?.seq);
        assert.equal(claimed?.tenantId, tenant);
        assert.deepEqual(claimed?.draft, memory);
        assert.ok(claimed?.draft?.createdAt instanceof Date);
        await sleep(5);
        const [reclaimed] = await store.tasks.claim([task.taskId], 1);
        assert.equal(reclaimed?.attempts, 2);
      });

      it('leaves a task claimed within its lease to its worker, and takes it once the lease, renewed or not, has run out', async () => {
        tenant = newTenant();
        const [held, renewed, lapsed] = [newTask(draft(tenant)), newTask(draft(tenant)), newTask(draft(tenant))];
        const ids = [held.taskId, renewed.taskId, lapsed.taskId];
        await store.tasks.accept([held, renewed, lapsed]);
        assert.equal((await store.tasks.claim(ids, LEASE_MS)).length, 3);
        assert.deepEqual(await store.tasks.claim(ids, LEASE_MS), [], 'a live claim is not taken');
        await sleep(400);
        await store.tasks.renew([renewed.taskId]);
        const taken = await store.tasks.claim(ids, 300);
        assert.deepEqual(taken.map((task) => task.taskId).sort(), [held.taskId, lapsed.taskId].sort());
        assert.deepEqual(taken.map((task) => task.attempts), [2, 2]);
        // A renewal touches only tasks still processing.
        await store.tasks.complete([held.taskId]);
        await store.tasks.renew([held.taskId]);
        assert.equal((await store.tasks.find(tenant, held.taskId))?.status, 'completed');
      });

      it('hands claimed tasks back for a claim at once, counting the attempt or not, and all of them at a boot', async () => {
        tenant = newTenant();
        const [outage, failure, crashed, done] = [newTask(draft(tenant)), newTask(draft(tenant)), newTask(draft(tenant)), newTask(draft(tenant))];
        await store.tasks.accept([outage, failure, crashed, done]);
        await store.tasks.claim([outage.taskId, failure.taskId, crashed.taskId, done.taskId], LEASE_MS);
        await store.tasks.complete([done.taskId]);
        await store.tasks.release([outage.taskId, done.taskId]);
        await store.tasks.release([failure.taskId], { keepAttempt: true });
        assert.equal((await store.tasks.find(tenant, outage.taskId))?.status, 'queued');
        assert.equal((await store.tasks.find(tenant, done.taskId))?.status, 'completed', 'a finished task stays finished');
        const again = await store.tasks.claim([outage.taskId, failure.taskId, crashed.taskId], LEASE_MS);
        assert.deepEqual(
          again.map((task) => [task.taskId, task.attempts]).sort(),
          [[outage.taskId, 1], [failure.taskId, 2]].sort(),
        );
        assert.ok((await store.tasks.releaseAll()) >= 3);
        const afterBoot = await store.tasks.claim([outage.taskId, failure.taskId, crashed.taskId], LEASE_MS);
        assert.deepEqual(
          afterBoot.map((task) => [task.taskId, task.attempts]).sort(),
          [[outage.taskId, 2], [failure.taskId, 3], [crashed.taskId, 2]].sort(),
        );
      });

      it('completes tasks, which then are not claimed again', async () => {
        tenant = newTenant();
        const tasks = [newTask(draft(tenant)), newTask(draft(tenant))];
        await store.tasks.accept(tasks);
        const pendingBefore = await store.tasks.countPending();
        await store.tasks.claim(tasks.map((task) => task.taskId), LEASE_MS);
        await store.tasks.complete(tasks.map((task) => task.taskId));
        assert.equal((await store.tasks.find(tenant, tasks[0]!.taskId))?.status, 'completed');
        assert.deepEqual(await store.tasks.claim(tasks.map((task) => task.taskId), LEASE_MS), []);
        assert.equal(await store.tasks.countPending(), pendingBefore - 2);
      });

      it('records why a task failed, and never claims it again', async () => {
        tenant = newTenant();
        const task = newTask(draft(tenant));
        await store.tasks.accept([task]);
        await store.tasks.fail(task.taskId, { code: 'embedding_failed', message: 'the model refused the text' });
        assert.deepEqual(await store.tasks.find(tenant, task.taskId), {
          taskId: task.taskId,
          memoryId: task.draft.id,
          status: 'failed',
          error: { code: 'embedding_failed', message: 'the model refused the text' },
        });
        assert.deepEqual(await store.tasks.claim([task.taskId], LEASE_MS), []);
        await store.tasks.complete([task.taskId]);
        assert.equal((await store.tasks.find(tenant, task.taskId))?.status, 'failed');
      });

      it('finds pending tasks untouched for a while by the database clock, oldest first, whatever the process clock says', async () => {
        tenant = newTenant();
        const older = newTask(draft(tenant));
        const newer = newTask(draft(tenant));
        const touched = newTask(draft(tenant));
        const done = newTask(draft(tenant));
        await store.tasks.accept([older]);
        await sleep(5);
        await store.tasks.accept([newer, touched, done]);
        await sleep(400);
        await store.tasks.claim([touched.taskId], LEASE_MS);
        await store.tasks.claim([done.taskId], LEASE_MS);
        await store.tasks.complete([done.taskId]);

        const mine = new Set([older, newer, touched, done].map((task) => task.taskId));
        const staleFor = async (ms: number, limit = 100_000): Promise<PendingTaskRef[]> =>
          (await store.tasks.findStale(ms, limit)).tasks.filter((ref) => mine.has(ref.taskId));
        assert.deepEqual(await staleFor(200), [
          { taskId: older.taskId, tenantId: tenant },
          { taskId: newer.taskId, tenantId: tenant },
        ]);
        assert.equal((await store.tasks.findStale(200, 1)).tasks.length, 1);
        assert.deepEqual(await staleFor(-1_000), [
          { taskId: older.taskId, tenantId: tenant },
          { taskId: newer.taskId, tenantId: tenant },
          { taskId: touched.taskId, tenantId: tenant },
        ]);
        // A process whose clock runs an hour ahead (or behind) finds the same.
        for (const skewMs of [3_600_000, -3_600_000]) {
          mock.timers.enable({ apis: ['Date'], now: Date.now() + skewMs });
          try {
            assert.equal((await staleFor(200)).length, 2, `clock off by ${skewMs} ms`);
            assert.deepEqual(await staleFor(60_000), [], `clock off by ${skewMs} ms`);
          } finally {
            mock.timers.reset();
          }
        }
      });

      it('pages through stale tasks after a cursor, each once, in order, tasks of one batch included', async () => {
        tenant = newTenant();
        const first = newTask(draft(tenant));
        const batch = Array.from({ length: 4 }, () => newTask(draft(tenant)));
        await store.tasks.accept([first]);
        // One transaction: the batch's tasks were all touched at the same instant.
        await store.tasks.accept(batch);
        const mine = new Set([first, ...batch].map((task) => task.taskId));
        const seen: string[] = [];
        let after: StaleTasksCursor | undefined;
        let pages = 0;
        do {
          const page = await store.tasks.findStale(-1_000, 2, after);
          seen.push(...page.tasks.map((ref) => ref.taskId).filter((id) => mine.has(id)));
          after = page.next ?? undefined;
          pages += 1;
          assert.ok(pages < 10_000, 'the pages come to an end');
        } while (after !== undefined);
        assert.deepEqual(seen, [first, ...batch].map((task) => task.taskId));
      });

      it('forgets finished tasks changed before a moment, oldest first, keeping pending ones and those with a key', async () => {
        tenant = newTenant();
        const [completed, failed, queued, processing, keyed, later] = Array.from({ length: 6 }, () => newTask(draft(tenant)));
        assert.ok(completed && failed && queued && processing && keyed && later);
        const withKey = { ...keyed, idempotencyKey: `key-${randomUUID()}` };
        await store.tasks.accept([completed, failed, queued, processing, withKey, later]);
        await store.tasks.claim([completed.taskId, processing.taskId, withKey.taskId], LEASE_MS);
        await store.tasks.complete([completed.taskId, withKey.taskId]);
        await store.tasks.fail(failed.taskId, { code: 'embedding_failed', message: 'refused' });
        await sleep(5);
        const cutoff = new Date();
        await sleep(5);
        await store.tasks.complete([later.taskId]);

        // Earlier tests' finished tasks go too: the statement is over every tenant.
        assert.ok((await store.tasks.forgetFinished(cutoff, 100_000)) >= 2);
        assert.equal(await store.tasks.find(tenant, completed.taskId), null);
        assert.equal(await store.tasks.find(tenant, failed.taskId), null);
        assert.equal((await store.tasks.find(tenant, queued.taskId))?.status, 'queued');
        assert.equal((await store.tasks.find(tenant, processing.taskId))?.status, 'processing');
        assert.equal((await store.tasks.find(tenant, withKey.taskId))?.status, 'completed');
        assert.equal((await store.tasks.find(tenant, later.taskId))?.status, 'completed');
        assert.equal(await store.tasks.forgetFinished(cutoff, 100_000), 0);
        const [replayed] = await store.tasks.accept([{ ...newTask(draft(tenant)), idempotencyKey: withKey.idempotencyKey }]);
        assert.equal(replayed?.taskId, withKey.taskId, 'the key still answers a retry');
      });

      it('forgets at most the number asked, the oldest first', async () => {
        tenant = newTenant();
        const tasks = Array.from({ length: 3 }, () => newTask(draft(tenant)));
        for (const task of tasks) {
          await store.tasks.accept([task]);
          await store.tasks.complete([task.taskId]);
          await sleep(5);
        }
        const cutoff = new Date();
        assert.equal(await store.tasks.forgetFinished(cutoff, 0), 0);
        const before = await Promise.all(tasks.map((task) => store.tasks.find(tenant, task.taskId)));
        assert.ok(before.every((task) => task?.status === 'completed'), 'a limit of 0 forgets nothing');
        let left = tasks.length;
        while (left > 0) {
          // Earlier tests may have left finished tasks too, older than these: they go first.
          const forgotten = await store.tasks.forgetFinished(cutoff, 1);
          assert.equal(forgotten, 1);
          const kept = await Promise.all(tasks.map((task) => store.tasks.find(tenant, task.taskId)));
          left = kept.filter((task) => task !== null).length;
          // Whatever went of these, it went oldest first: the ones still kept are the newest.
          const firstKept = kept.findIndex((task) => task !== null);
          assert.ok(firstKept === -1 || kept.slice(firstKept).every((task) => task !== null));
        }
        assert.equal(await store.tasks.forgetFinished(cutoff, 1), 0);
      });

      it('counts pending tasks', async () => {
        const before = await store.tasks.countPending();
        await store.tasks.accept([newTask(draft(newTenant())), newTask(draft(newTenant()))]);
        assert.equal(await store.tasks.countPending(), before + 2);
      });
    });

    describe('memories', () => {
      it('stores a memory and gives it back, vector included', async () => {
        tenant = newTenant();
        const memory = draft(tenant);
        const vector = new Float32Array([0.1, -3.5, 1e-7, 42, -0]);
        const version = await nextSeq(memory);
        assert.deepEqual(await store.memories.apply(embedded(memory, version, vector)), {
          applied: true,
          formerUserIds: [],
        });
        const stored = await store.memories.getEmbedded(tenant, memory.id);
        assert.deepEqual(stored?.embedding, vector);
        const plain = await store.memories.get(tenant, memory.id);
        assert.deepEqual({ ...plain, updatedAt: undefined }, { ...memory, version, updatedAt: undefined });
        assert.ok(plain?.updatedAt instanceof Date);
        assert.equal('embedding' in (plain ?? {}), false);
      });

      it('stores a vector that is a view into a larger buffer', async () => {
        tenant = newTenant();
        const memory = draft(tenant);
        const backing = new Float32Array([9, 8, 7, 6, 5]);
        await store.memories.apply(embedded(memory, await nextSeq(memory), backing.subarray(1, 4)));
        assert.deepEqual((await store.memories.getEmbedded(tenant, memory.id))?.embedding, new Float32Array([8, 7, 6]));
      });

      it('applies the same version twice harmlessly', async () => {
        tenant = newTenant();
        const memory = draft(tenant);
        const version = await nextSeq(memory);
        await store.memories.apply(embedded(memory, version));
        assert.deepEqual(await store.memories.apply(embedded(memory, version)), {
          applied: true,
          formerUserIds: [],
        });
        assert.deepEqual(await store.memories.listIds(tenant, memory.userId), [memory.id]);
      });

      it('ignores an older version that arrives after a newer one', async () => {
        tenant = newTenant();
        const old = draft(tenant, { id: 'fact', text: 'lives in Lyon' });
        const current = { ...old, text: 'lives in Porto' };
        const oldVersion = await nextSeq(old);
        const newVersion = await nextSeq(current);
        await store.memories.apply(embedded(current, newVersion));
        assert.deepEqual(await store.memories.apply(embedded(old, oldVersion)), {
          applied: false,
          reason: 'superseded',
        });
        assert.equal((await store.memories.get(tenant, 'fact'))?.text, 'lives in Porto');
      });

      it("reports the previous owner when a newer version moves a memory to another user", async () => {
        tenant = newTenant();
        const first = draft(tenant, { id: 'moving', userId: 'alice' });
        await store.memories.apply(embedded(first, await nextSeq(first)));
        const moved = { ...first, userId: 'bob' };
        assert.deepEqual(await store.memories.apply(embedded(moved, await nextSeq(moved))), {
          applied: true,
          formerUserIds: ['alice'],
        });
        assert.deepEqual(await store.memories.listIds(tenant, 'alice'), []);
        assert.deepEqual(await store.memories.listIds(tenant, 'bob'), ['moving']);
        // Reconciliation still looks at the old user, whose vector of it may linger.
        const owners = (await store.memories.listOwners()).filter((owner) => owner.tenantId === tenant);
        assert.deepEqual(owners.map((owner) => owner.userId), ['alice', 'bob']);
      });

      it('reports, when a version that moved a memory is applied again, the user it moved it from', async () => {
        tenant = newTenant();
        const first = draft(tenant, { id: 'moved-twice', userId: 'alice' });
        await store.memories.apply(embedded(first, await nextSeq(first)));
        const moved = embedded({ ...first, userId: 'bob' }, await nextSeq(first));
        assert.deepEqual(await store.memories.apply(moved), { applied: true, formerUserIds: ['alice'] });
        // A retry of the same write, after its vectors failed to follow.
        assert.deepEqual(await store.memories.apply(moved), { applied: true, formerUserIds: ['alice'] });
        assert.deepEqual(await store.memories.applyMany([moved]), [{ applied: true, formerUserIds: ['alice'] }]);
        // A later write of the new user may overtake the move's retry: it names the old user too.
        const edited = embedded({ ...first, userId: 'bob', text: 'edited' }, await nextSeq(first));
        assert.deepEqual(await store.memories.apply(edited), { applied: true, formerUserIds: ['alice'] });
        assert.deepEqual(await store.memories.apply(edited), { applied: true, formerUserIds: ['alice'] });
        assert.deepEqual(await store.memories.apply(moved), { applied: false, reason: 'superseded' });
        assert.deepEqual(await store.memories.remove(tenant, first.id), { id: first.id, userId: 'bob', formerUserIds: ['alice'] });
        // Back to the user it was moved from: no one else is named, and then it moves on.
        const back = embedded({ ...first, userId: 'alice' }, await nextSeq(first));
        assert.deepEqual(await store.memories.apply(back), { applied: true, formerUserIds: ['bob'] });
        const returned = embedded({ ...first, userId: 'alice', text: 'returned' }, await nextSeq(first));
        assert.deepEqual(await store.memories.apply(returned), { applied: true, formerUserIds: [] });
        const onwards = embedded({ ...first, userId: 'carl' }, await nextSeq(first));
        assert.deepEqual(await store.memories.apply(onwards), { applied: true, formerUserIds: ['alice'] });
        assert.deepEqual(await store.memories.apply(embedded({ ...first, userId: 'carl' }, await nextSeq(first))), {
          applied: true,
          formerUserIds: ['alice'],
        });
      });

      it('removes a memory, and an older write of it stays removed', async () => {
        tenant = newTenant();
        const memory = draft(tenant, { userId: 'carol' });
        const acceptedBeforeDelete = await nextSeq(memory);
        await store.memories.apply(embedded(memory, await nextSeq(memory)));
        assert.deepEqual(await store.memories.remove(tenant, memory.id), { id: memory.id, userId: 'carol', formerUserIds: [] });
        assert.equal(await store.memories.get(tenant, memory.id), null);
        assert.equal(await store.memories.getEmbedded(tenant, memory.id), null);
        assert.equal(await store.memories.remove(tenant, memory.id), null);
        assert.deepEqual(await store.memories.apply(embedded(memory, acceptedBeforeDelete)), {
          applied: false,
          reason: 'superseded',
        });
        assert.equal(await store.memories.get(tenant, memory.id), null);
      });

      it('brings a removed memory back with a write accepted after the removal', async () => {
        tenant = newTenant();
        const memory = draft(tenant);
        await store.memories.apply(embedded(memory, await nextSeq(memory)));
        await store.memories.remove(tenant, memory.id);
        const rewritten = { ...memory, text: 'back again' };
        assert.equal((await store.memories.apply(embedded(rewritten, await nextSeq(rewritten)))).applied, true);
        assert.equal((await store.memories.get(tenant, memory.id))?.text, 'back again');
      });

      it('removes a memory whose write is still in flight ahead of it, once', async () => {
        tenant = newTenant();
        const memory = draft(tenant, { id: 'in-flight', userId: 'hana' });
        const accepted = await nextSeq(memory);
        assert.deepEqual(await store.memories.remove(tenant, memory.id), { id: memory.id, userId: 'hana', formerUserIds: [] });
        assert.deepEqual(await store.memories.apply(embedded(memory, accepted)), { applied: false, reason: 'superseded' });
        assert.equal(await store.memories.get(tenant, memory.id), null);
        // Nothing accepted since the tombstone: there is nothing left to remove.
        assert.equal(await store.memories.remove(tenant, memory.id), null);
        const later = await nextSeq(memory);
        assert.deepEqual(await store.memories.remove(tenant, memory.id), { id: memory.id, userId: 'hana', formerUserIds: [] });
        assert.deepEqual(await store.memories.apply(embedded(memory, later)), { applied: false, reason: 'superseded' });
        assert.equal(await store.memories.remove(newTenant(), memory.id), null);
      });

      it('returns null when removing what does not exist', async () => {
        assert.equal(await store.memories.remove(newTenant(), 'nothing-here'), null);
      });

      it('erases a user, refusing writes accepted before the erasure and taking later ones', async () => {
        tenant = newTenant();
        const kept = draft(tenant, { userId: 'other' });
        const memories = [draft(tenant, { userId: 'dave' }), draft(tenant, { userId: 'dave' })];
        for (const memory of [...memories, kept]) await store.memories.apply(embedded(memory, await nextSeq(memory)));
        const late = draft(tenant, { userId: 'dave', id: 'late' });
        const acceptedBefore = await nextSeq(late);

        assert.equal((await store.memories.eraseUser(tenant, 'dave')).erased, 2);
        assert.deepEqual(await store.memories.listIds(tenant, 'dave'), []);
        assert.deepEqual(await store.memories.listIds(tenant, 'other'), [kept.id]);
        assert.deepEqual(await store.memories.apply(embedded(late, acceptedBefore)), {
          applied: false,
          reason: 'erased',
        });
        assert.equal(await store.memories.get(tenant, 'late'), null);

        const acceptedAfter = await nextSeq(late);
        assert.equal((await store.memories.apply(embedded(late, acceptedAfter))).applied, true);
        assert.deepEqual(await store.memories.listIds(tenant, 'dave'), ['late']);
        assert.equal((await store.memories.eraseUser(tenant, 'nobody')).erased, 0);
      });

      it('lets a write that moves a memory away from a user, accepted before their erasure, land after it', async () => {
        tenant = newTenant();
        const memory = draft(tenant, { id: 'leaving', userId: 'olga' });
        await store.memories.apply(embedded(memory, await nextSeq(memory)));
        const move = { ...memory, userId: 'petr', text: 'now petr owns it' };
        const moveVersion = await nextSeq(move);
        assert.deepEqual(await store.memories.eraseUser(tenant, 'olga'), { erased: 1, othersHeld: [] });
        // Olga's text is gone at once; the move, accepted before the erasure, still lands.
        assert.equal(await store.memories.get(tenant, 'leaving'), null);
        assert.equal((await store.memories.apply(embedded(move, moveVersion))).applied, true);
        const stored = await store.memories.get(tenant, 'leaving');
        assert.deepEqual([stored?.userId, stored?.text, stored?.version], ['petr', 'now petr owns it', moveVersion]);
      });

      it("erases a memory that a write accepted before the erasure was giving to the erased user, with the other user's row", async () => {
        tenant = newTenant();
        const memory = draft(tenant, { id: 'arriving', userId: 'rita' });
        await store.memories.apply(embedded(memory, await nextSeq(memory)));
        const taking = { ...memory, userId: 'sven', text: 'sven took it over' };
        const takingVersion = await nextSeq(taking);
        // Never stored yet, and not the last: a write of another user accepted before sven's.
        const unstored = draft(tenant, { id: 'unstored', userId: 'rita' });
        const unstoredVersion = await nextSeq(unstored);
        const unstoredTaking = { ...unstored, userId: 'sven' };
        const unstoredTakingVersion = await nextSeq(unstoredTaking);

        assert.deepEqual(await store.memories.eraseUser(tenant, 'sven'), {
          erased: 1,
          othersHeld: [{ id: 'arriving', userId: 'rita', formerUserIds: [] }],
        });
        assert.equal(await store.memories.get(tenant, 'arriving'), null);
        assert.deepEqual(await store.memories.apply(embedded(taking, takingVersion)), { applied: false, reason: 'erased' });
        assert.equal((await store.memories.apply(embedded(unstored, unstoredVersion))).applied, false);
        assert.equal((await store.memories.apply(embedded(unstoredTaking, unstoredTakingVersion))).applied, false);
        assert.deepEqual(await store.memories.getMany(tenant, ['arriving', 'unstored']), []);
      });

      it('applies a batch with the outcomes of applying its memories one by one, in order', async () => {
        tenant = newTenant();
        const moving = draft(tenant, { id: 'moving', userId: 'erin' });
        await store.memories.apply(embedded(moving, await nextSeq(moving)));
        const erasedEarly = draft(tenant, { id: 'too-early', userId: 'frank' });
        const acceptedBeforeErasure = await nextSeq(erasedEarly);
        await store.memories.eraseUser(tenant, 'frank');
        const first = draft(tenant, { id: 'twice', text: 'first' });
        const second = { ...first, text: 'second' };
        const older = draft(tenant, { id: 'stale', text: 'older' });
        const olderVersion = await nextSeq(older);
        const newer = { ...older, text: 'newer' };
        await store.memories.apply(embedded(newer, await nextSeq(newer)));
        const fresh = draft(tenant, { userId: 'gina' });
        const batch = [
          embedded({ ...moving, userId: 'hank' }, await nextSeq(moving)),
          embedded(erasedEarly, acceptedBeforeErasure),
          embedded(first, await nextSeq(first)),
          embedded(second, await nextSeq(second)),
          embedded(older, olderVersion),
          embedded(fresh, await nextSeq(fresh)),
          embedded(draft(newTenant()), await nextSeq(fresh)),
        ];

        assert.deepEqual(await store.memories.applyMany(batch), [
          { applied: true, formerUserIds: ['erin'] },
          { applied: false, reason: 'erased' },
          { applied: true, formerUserIds: [] },
          { applied: true, formerUserIds: [] },
          { applied: false, reason: 'superseded' },
          { applied: true, formerUserIds: [] },
          { applied: true, formerUserIds: [] },
        ]);
        assert.equal((await store.memories.get(tenant, 'twice'))?.text, 'second');
        assert.equal((await store.memories.get(tenant, 'stale'))?.text, 'newer');
        assert.equal(await store.memories.get(tenant, 'too-early'), null);
        assert.deepEqual(await store.memories.listIds(tenant, 'hank'), ['moving']);
        assert.deepEqual(await store.memories.listIds(tenant, 'gina'), [fresh.id]);
        assert.deepEqual(await store.memories.applyMany([]), []);
      });

      it('applies a batch of more memories than one transaction takes as if one by one', async () => {
        tenant = newTenant();
        const earlier = draft(tenant, { id: 'bulk-1', text: 'accepted first, applied last' });
        const earlierVersion = await nextSeq(earlier);
        const drafts = Array.from({ length: 150 }, (_, index) => draft(tenant, { id: `bulk-${index}`, text: `bulk ${index}` }));
        const accepted = await store.tasks.accept(drafts.map((memory) => newTask(memory)));
        const [first] = drafts;
        assert.ok(first);
        const again = { ...first, userId: 'user-2', text: 'bulk 0 again' };
        const batch = [
          ...drafts.map((memory, index) => embedded(memory, accepted[index]?.seq ?? 0)),
          embedded(again, await nextSeq(again)),
          embedded(earlier, earlierVersion),
        ];

        const outcomes = await store.memories.applyMany(batch);
        assert.equal(outcomes.length, 152);
        assert.ok(outcomes.slice(0, 150).every((outcome) => outcome.applied && outcome.formerUserIds.length === 0));
        assert.deepEqual(outcomes.slice(150), [
          { applied: true, formerUserIds: ['user-1'] },
          { applied: false, reason: 'superseded' },
        ]);
        assert.equal((await store.memories.get(tenant, 'bulk-0'))?.text, 'bulk 0 again');
        assert.equal((await store.memories.get(tenant, 'bulk-1'))?.text, 'bulk 1');
        assert.equal((await store.memories.listIds(tenant, 'user-1')).length, 149);
      });

      it('gets many memories in one call, skipping unknown and removed ids', async () => {
        tenant = newTenant();
        const memories = [draft(tenant), draft(tenant), draft(tenant)];
        for (const memory of memories) await store.memories.apply(embedded(memory, await nextSeq(memory)));
        await store.memories.remove(tenant, memories[2]!.id);
        const found = await store.memories.getMany(tenant, [...memories.map((m) => m.id), 'unknown']);
        assert.deepEqual(found.map((memory) => memory.id).sort(), [memories[0]!.id, memories[1]!.id].sort());
        assert.deepEqual(await store.memories.getMany(tenant, []), []);
      });
    });

    describe('history', () => {
      it('keeps the order of writing among equal times, however the worker\'s runs store them', async () => {
        tenant = newTenant();
        const sameTime = new Date('2025-05-06T12:00:00.000Z');
        // A conversation imported in one batch without times: each turn has the request's time.
        const turns = ['turn-z', 'turn-a', 'turn-m', 'turn-q', 'turn-b'].map((id) => draft(tenant, { id, createdAt: sameTime }));
        const versions: number[] = [];
        for (const turn of turns) versions.push(await nextSeq(turn));
        const stored = turns.map((turn, index) => embedded(turn, versions[index]!));
        // Two runs, the later writes' first.
        await store.memories.applyMany(stored.slice(3));
        await store.memories.applyMany(stored.slice(0, 3));
        const page = await store.memories.findHistory({ tenantId: tenant, sessionId: 'session-1', limit: 10 });
        assert.deepEqual(page.items.map((item) => item.id), ['turn-z', 'turn-a', 'turn-m', 'turn-q', 'turn-b']);
      });

      it('pages through a session oldest first, keeping insertion order among equal times', async () => {
        tenant = newTenant();
        const sameTime = new Date('2025-05-05T12:00:00.000Z');
        const turns = [
          draft(tenant, { id: 'turn-1', createdAt: new Date('2025-05-05T11:59:59.000Z') }),
          draft(tenant, { id: 'turn-z', createdAt: sameTime }),
          draft(tenant, { id: 'turn-a', createdAt: sameTime, role: 'assistant' }),
          draft(tenant, { id: 'turn-m', createdAt: sameTime }),
          draft(tenant, { id: 'turn-5', createdAt: new Date('2025-05-05T12:00:01.000Z') }),
        ];
        for (const turn of turns) await store.memories.apply(embedded(turn, await nextSeq(turn)));
        // An update must not move a turn: order among equal times is the first insert's.
        const edited = { ...turns[1]!, text: 'edited' };
        await store.memories.apply(embedded(edited, await nextSeq(edited)));
        await store.memories.apply(embedded(draft(tenant, { sessionId: 'elsewhere' }), await nextSeq(turns[0]!)));

        const seen: string[] = [];
        let page = await store.memories.findHistory({ tenantId: tenant, sessionId: 'session-1', limit: 2 });
        seen.push(...page.items.map((item) => item.id));
        while (page.next !== null) {
          page = await store.memories.findHistory({
            tenantId: tenant,
            sessionId: 'session-1',
            limit: 2,
            after: page.next,
          });
          seen.push(...page.items.map((item) => item.id));
        }
        assert.deepEqual(seen, ['turn-1', 'turn-z', 'turn-a', 'turn-m', 'turn-5']);
        assert.equal(page.items.length, 1);
      });

      it('says there is no next page when the last page is exactly full', async () => {
        tenant = newTenant();
        for (const index of [1, 2]) {
          const turn = draft(tenant, { id: `t${index}`, createdAt: new Date(Date.UTC(2025, 0, index)) });
          await store.memories.apply(embedded(turn, await nextSeq(turn)));
        }
        const page = await store.memories.findHistory({ tenantId: tenant, sessionId: 'session-1', limit: 2 });
        assert.equal(page.items.length, 2);
        assert.equal(page.next, null);
      });

      it('filters by user and leaves out removed turns', async () => {
        tenant = newTenant();
        const mine = draft(tenant, { userId: 'erin' });
        const removed = draft(tenant, { userId: 'erin', createdAt: new Date('2025-03-02T00:00:00.000Z') });
        const theirs = draft(tenant, { userId: 'frank' });
        for (const memory of [mine, removed, theirs]) await store.memories.apply(embedded(memory, await nextSeq(memory)));
        await store.memories.remove(tenant, removed.id);
        const page = await store.memories.findHistory({ tenantId: tenant, sessionId: 'session-1', userId: 'erin', limit: 10 });
        assert.deepEqual(
          page.items.map((item) => item.id),
          [mine.id],
        );
        assert.equal(page.next, null);
      });
    });

    describe('word search', () => {
      const day = (hour: number) => new Date(Date.UTC(2025, 3, 1, hour));

      async function remember(...memories: MemoryDraft[]): Promise<void> {
        for (const memory of memories) await store.memories.apply(embedded(memory, await nextSeq(memory)));
      }
      async function wordIds(scope: Partial<SearchScope> & { tenantId: string }, words: string[], limit = 10): Promise<string[]> {
        const matches = await store.memories.findByWords({ scope: { userId: 'user-1', ...scope }, words, limit });
        return matches.map((match) => match.id);
      }

      it('finds a rare word in any form, and needs only one of the words', async () => {
        tenant = newTenant();
        await remember(
          draft(tenant, { id: 'rare', text: 'We finally adopted a capybara from the sanctuary', createdAt: day(1) }),
          draft(tenant, { id: 'common', text: 'We went to the park with the kids', sessionId: 'session-2', createdAt: day(2) }),
        );
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['capybaras']), ['rare']);
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['adopting', 'giraffe', 'zebra']), ['rare']);
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['the', 'with']), []);
        assert.deepEqual(await wordIds({ tenantId: tenant }, []), []);
      });

      it('finds a word with combining marks whole, as it is stored', async () => {
        tenant = newTenant();
        await remember(
          draft(tenant, { id: 'hindi', text: 'मेरा नाम राहुल है', createdAt: day(1) }),
          draft(tenant, { id: 'thai', text: 'ฉันชอบกินข้าวเหนียวมะม่วง สวัสดีครับ', sessionId: 'session-2', createdAt: day(2) }),
          draft(tenant, { id: 'other', text: 'We went to the park', sessionId: 'session-3', createdAt: day(3) }),
        );
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['राहुल']), ['hindi']);
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['สวัสดีครับ']), ['thai']);
      });

      it('ranks a memory with the rarer words first, and its neighbours after it', async () => {
        tenant = newTenant();
        const turns = [
          'Melanie: How was the weekend?',
          'Caroline: We went to the pottery workshop',
          'Melanie: Oh nice, what did you make?',
          'Caroline: A bowl with a sunflower on it',
          'Melanie: Caroline, that sounds lovely',
        ].map((text, index) => draft(tenant, { id: `t${index}`, text, createdAt: day(index) }));
        await remember(...turns);
        const ranked = await wordIds({ tenantId: tenant }, ['caroline', 'pottery', 'workshop']);
        assert.equal(ranked[0], 't1');
        // t2 shares no word: it is found as the turn right after the match.
        assert.ok(ranked.includes('t2'));
        assert.ok(ranked.indexOf('t4') > 0);
        const scores = (await store.memories.findByWords({ scope: { tenantId: tenant, userId: 'user-1' }, words: ['pottery'], limit: 10 })).map((m) => m.score);
        assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
      });

      it('honours user, session, metadata filters and the created range', async () => {
        tenant = newTenant();
        await remember(
          draft(tenant, { id: 'a', text: 'kayak trip', sessionId: 's1', metadata: { topic: 'sport', year: 2023 }, createdAt: day(1) }),
          draft(tenant, { id: 'b', text: 'kayak repair', sessionId: 's2', metadata: { topic: 'shop', year: 2024 }, createdAt: day(5) }),
          draft(tenant, { id: 'c', text: 'kayak race', sessionId: 's3', metadata: { topic: 'sport' }, createdAt: day(9) }),
          draft(tenant, { id: 'theirs', userId: 'user-2', text: 'kayak trip', sessionId: 's1', createdAt: day(1) }),
        );
        const sorted = async (scope: Partial<SearchScope>) => (await wordIds({ tenantId: tenant, ...scope }, ['kayak'])).sort();
        assert.deepEqual(await sorted({}), ['a', 'b', 'c']);
        assert.deepEqual(await sorted({ userId: 'user-2' }), ['theirs']);
        assert.deepEqual(await sorted({ sessionId: 's2' }), ['b']);
        assert.deepEqual(await sorted({ metadata: [{ key: 'topic', op: 'eq', value: 'sport' }] }), ['a', 'c']);
        assert.deepEqual(await sorted({ metadata: [{ key: 'topic', op: 'in', value: ['shop', 'x'] }] }), ['b']);
        assert.deepEqual(await sorted({ metadata: [{ key: 'topic', op: 'nin', value: ['shop'] }] }), ['a', 'c']);
        assert.deepEqual(await sorted({ metadata: [{ key: 'year', op: 'ne', value: 2023 }] }), ['b', 'c']);
        assert.deepEqual(await sorted({ metadata: [{ key: 'year', op: 'gte', value: 2024 }] }), ['b']);
        assert.deepEqual(await sorted({ createdAfter: day(1), createdBefore: day(9) }), ['b']);
      });

      it('follows rewrites, moves, removals and erasures of a memory', async () => {
        tenant = newTenant();
        const first = draft(tenant, { id: 'boat', text: 'We sailed the kayak across the lake' });
        await remember(first);
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['kayak']), ['boat']);
        await remember({ ...first, text: 'We paddled the canoe across the lake' });
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['kayak']), []);
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['canoe']), ['boat']);
        // The same words again (a metadata change): still found once.
        await remember({ ...first, text: 'We paddled the canoe across the lake', metadata: { edited: true } });
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['canoe']), ['boat']);
        await remember({ ...first, userId: 'user-2', text: 'We paddled the canoe across the lake' });
        assert.deepEqual(await wordIds({ tenantId: tenant }, ['canoe']), []);
        assert.deepEqual(await wordIds({ tenantId: tenant, userId: 'user-2' }, ['canoe']), ['boat']);
        await store.memories.remove(tenant, 'boat');
        assert.deepEqual(await wordIds({ tenantId: tenant, userId: 'user-2' }, ['canoe']), []);
        await remember({ ...first, id: 'again', userId: 'user-2', text: 'A canoe again' });
        assert.deepEqual(await wordIds({ tenantId: tenant, userId: 'user-2' }, ['canoe']), ['again']);
        await store.memories.eraseUser(tenant, 'user-2');
        assert.deepEqual(await wordIds({ tenantId: tenant, userId: 'user-2' }, ['canoe']), []);
      });

      it("never finds another tenant's memory with the same words", async () => {
        const [red, blue] = [newTenant(), newTenant()];
        await remember(draft(red, { id: 'same', text: 'secret ferret recipe' }), draft(blue, { id: 'same', text: 'secret ferret recipe' }));
        await remember(draft(blue, { id: 'blue-only', text: 'ferret' }));
        assert.deepEqual(await wordIds({ tenantId: red }, ['ferret']), ['same']);
        assert.deepEqual((await store.memories.getCandidates(red, ['same', 'blue-only'], ['same', 'blue-only'])).map((m) => m.tenantId), [red]);
      });

      it("ranks a small user's words from their listing as the word statement ranks them", async () => {
        tenant = newTenant();
        const random = new Random(20261205);
        // Users of 1 to 250 memories (the most ranked from the listing; a scope of up to 50 comes
        // whole with its ids) and one of 280, in sessions of up to 30 turns, some at the same
        // moment (then in their order of writing), a few removed. Every other turn of the chatty
        // user says the same 44 words: a query of those and "weekend" finds more memories than a
        // search takes candidates from, and the rarer words pick them (turns with "weekend" alone
        // are not among them).
        const sizes = { one: 1, few: 12, some: 45, chatty: 50, more: 120, most: 250, past: 280 };
        const chatter = Array.from({ length: 44 }, (_, index) => `chatter${index}`);
        const drafts = Object.entries(sizes).flatMap(([userId, size]) =>
          Array.from({ length: size }, (_, index) =>
            draft(tenant, {
              userId,
              sessionId: `session-${Math.floor(index / (1 + random.int(30)))}`,
              text: [chatTurn(random), ...(userId !== 'chatty' ? [] : index % 2 === 0 ? chatter : ['weekend'])].join(' '),
              createdAt: day(Math.floor(index / 2)),
            }),
          ),
        );
        const accepted = await store.tasks.accept(drafts.map((memory) => newTask(memory)));
        await store.memories.applyMany(drafts.map((memory, index) => embedded(memory, accepted[index]?.seq ?? 0)));
        for (const removed of drafts.filter((_, index) => index % 17 === 5)) await store.memories.remove(tenant, removed.id);

        let compared = 0;
        for (const userId of Object.keys(sizes)) {
          const scope = { tenantId: tenant, userId };
          for (let round = 0; round < 12; round += 1) {
            const query = userId === 'chatty' && round < 4 ? [...chatter, 'weekend', random.pick(CHAT_WORDS.rare)] : chatQuery(random);
            const words = { words: query, limit: round % 3 === 0 ? 5 : 1_000 };
            const statement = await store.memories.findByWords({ scope, ...words });
            // The first search of the largest user learns that they are, and asks the statement
            // after the listing; their next ones beside it.
            for (const search of ['first', 'next']) {
              const lists = store.memories.searchLists({ scope, idsLimit: 5_001, memoriesUpTo: 50, words: { ...words, withMemories: 3 } });
              const matches = await lists.matches;
              assertSameRanking(matches, statement, `${userId} ${search} ${words.words.join(' ')}`);
              // The best come with their memories, as the statement brings them.
              assert.deepEqual(
                matches.map((match) => match.memory?.id),
                matches.map((match, place) => (place < 3 ? match.id : undefined)),
              );
            }
            compared += statement.length;
          }
        }
        assert.ok(compared > 200, `only ${compared} matches compared`);
      });

      it("lists the ids of a scope's live memories, up to a limit, under the same filters as the search", async () => {
        tenant = newTenant();
        const [early, late, otherSession, removed] = [
          draft(tenant, { id: 'early', createdAt: day(1), metadata: { topic: 'travel' } }),
          draft(tenant, { id: 'late', createdAt: day(5), metadata: { topic: 'food' } }),
          draft(tenant, { id: 'other-session', sessionId: 'session-2', createdAt: day(2) }),
          draft(tenant, { id: 'removed', createdAt: day(3) }),
        ];
        await remember(early, late, otherSession, removed, draft(tenant, { id: 'theirs', userId: 'user-2' }), draft(newTenant(), { id: 'elsewhere' }));
        await store.memories.remove(tenant, removed.id);
        const idsOf = async (scope: Partial<SearchScope>, limit = 10): Promise<string[]> =>
          (await store.memories.idsInScope({ tenantId: tenant, userId: 'user-1', ...scope }, limit)).sort();

        assert.deepEqual(await idsOf({}), ['early', 'late', 'other-session']);
        assert.deepEqual(await idsOf({ sessionId: 'session-1' }), ['early', 'late']);
        assert.deepEqual(await idsOf({ createdAfter: day(1), createdBefore: day(5) }), ['other-session']);
        assert.deepEqual(await idsOf({ metadata: [{ key: 'topic', op: 'eq', value: 'food' }] }), ['late']);
        assert.equal((await idsOf({}, 2)).length, 2);
        assert.deepEqual(await idsOf({ userId: 'nobody' }), []);
      });

      it('gives the ids and the word matches together as it gives them apart, and only what is asked', async () => {
        tenant = newTenant();
        await remember(
          draft(tenant, { id: 'otter', text: 'The otter at the zoo juggled pebbles', createdAt: day(1) }),
          draft(tenant, { id: 'pebbles', text: 'Pebbles again, the otter never tires', createdAt: day(2) }),
          draft(tenant, { id: 'lunch', text: 'Lunch was a cheese sandwich', sessionId: 'session-2', createdAt: day(3) }),
          draft(tenant, { id: 'theirs', userId: 'user-2', text: 'An otter of their own' }),
        );
        for (const scope of [{ tenantId: tenant, userId: 'user-1' }, { tenantId: tenant, userId: 'user-1', sessionId: 'session-1' }]) {
          const words = { words: ['otter', 'pebbles', 'sandwich'], limit: 10 };
          const lists = store.memories.searchLists({ scope, idsLimit: 10, words });
          assert.deepEqual((await lists.ids)?.sort(), (await store.memories.idsInScope(scope, 10)).sort());
          // A whole user is ranked from their listing (see the test of that), a session by the statement.
          assertSameRanking(await lists.matches, await store.memories.findByWords({ scope, ...words }), JSON.stringify(scope));
          assert.ok((await lists.matches).length > 0);
        }
        const idsOnly = store.memories.searchLists({ scope: { tenantId: tenant, userId: 'user-1' }, idsLimit: 2, words: null });
        assert.equal((await idsOnly.ids)?.length, 2);
        assert.deepEqual(await idsOnly.matches, []);
        const wordsOnly = store.memories.searchLists({ scope: { tenantId: tenant, userId: 'user-1' }, idsLimit: null, words: { words: ['cheese'], limit: 5 } });
        assert.equal(wordsOnly.ids, null);
        assert.deepEqual((await wordsOnly.matches).map((match) => match.id), ['lunch']);
      });

      it('brings the memories of the best word matches along when asked, without their vectors or sketches', async () => {
        tenant = newTenant();
        await remember(
          draft(tenant, { id: 'otter', text: 'The otter at the zoo juggled pebbles', createdAt: day(1) }),
          draft(tenant, { id: 'pebbles', text: 'Pebbles again, the otter never tires', createdAt: day(2) }),
          draft(tenant, { id: 'lunch', text: 'Lunch with an otter-shaped cheese sandwich', sessionId: 'session-2', createdAt: day(3) }),
        );
        const scope = { tenantId: tenant, userId: 'user-1' };
        const words = { words: ['otter', 'pebbles'], limit: 10 };
        const plain = await store.memories.findByWords({ scope, ...words });
        const brought = await store.memories.searchLists({ scope, idsLimit: null, words: { ...words, withMemories: 2, withSketches: 2 } }).matches;
        assert.equal(plain.length, 3);
        assert.deepEqual(
          brought.map(({ id, score }) => ({ id, score })),
          plain,
        );
        const read = await store.memories.getCandidates(tenant, plain.map((match) => match.id), []);
        const byId = new Map(read.map(({ embedding: _vector, ...memory }) => [memory.id, memory]));
        assert.deepEqual(
          brought.map((match) => match.memory),
          [byId.get(plain[0]?.id ?? ''), byId.get(plain[1]?.id ?? ''), undefined],
        );
        // A small user's: their sketches and vectors stay behind, even when asked for a large user's.
        assert.equal(brought.some((match) => match.sketch !== undefined || match.embedding !== undefined), false);

        assert.equal(plain.some((match) => match.memory !== undefined), false);
      });

      it("brings a small scope's memories along with its ids, and none for a scope that holds more", async () => {
        tenant = newTenant();
        const drafts = [
          draft(tenant, { id: 'first', text: 'The otter at the zoo', createdAt: day(1), metadata: { topic: 'zoo', stars: 3 } }),
          draft(tenant, { id: 'second', text: 'A cheese sandwich', createdAt: day(2) }),
          draft(tenant, { id: 'third', text: 'Rain all day', sessionId: 'session-2', createdAt: day(3) }),
          draft(tenant, { id: 'removed', text: 'Gone by now', createdAt: day(4) }),
        ];
        await remember(...drafts, draft(tenant, { id: 'theirs', userId: 'user-2' }));
        await store.memories.remove(tenant, 'removed');
        const scope = { tenantId: tenant, userId: 'user-1' };
        const listedFor = async (limit: number, upTo: number, narrower: Partial<SearchScope> = {}): Promise<Memory[] | null> => {
          const lists = store.memories.searchLists({ scope: { ...scope, ...narrower }, idsLimit: limit, memoriesUpTo: upTo, words: null });
          const listed = await lists.memories;
          return listed === null ? null : listed.sort((a, b) => a.id.localeCompare(b.id));
        };
        const read = await store.memories.getCandidates(tenant, ['first', 'second', 'third'], []);
        const asRead = read.map(({ embedding: _vector, ...memory }) => memory).sort((a, b) => a.id.localeCompare(b.id));

        assert.deepEqual(await listedFor(10, 3), asRead);
        assert.deepEqual(await listedFor(10, 3, { sessionId: 'session-1' }), asRead.filter((memory) => memory.id !== 'third'));
        assert.deepEqual(await listedFor(10, 3, { userId: 'nobody' }), []);
        // More than asked for, or a listing cut at its limit, which may have left memories out.
        assert.equal(await listedFor(10, 2), null);
        assert.equal(await listedFor(3, 50), null);
        assert.deepEqual((await listedFor(4, 50))?.map((memory) => memory.id), ['first', 'second', 'third']);
        assert.equal(store.memories.searchLists({ scope, idsLimit: 10, words: null }).memories, null);
      });

      it('gives back memories by id, skipping removed ones, with vectors only where asked', async () => {
        tenant = newTenant();
        const [kept, plain, removed] = [draft(tenant), draft(tenant), draft(tenant)];
        await remember(kept, plain, removed);
        await store.memories.remove(tenant, removed.id);
        const found = await store.memories.getCandidates(tenant, [kept.id, plain.id, removed.id, 'unknown'], [kept.id, removed.id]);
        const byId = new Map(found.map((memory) => [memory.id, memory.embedding === null ? null : [...memory.embedding]]));
        assert.deepEqual(
          [...byId].sort(([a], [b]) => a.localeCompare(b)),
          [
            [kept.id, [0.5, -0.25, 1]],
            [plain.id, null],
          ].sort(([a], [b]) => String(a).localeCompare(String(b))),
        );
        assert.equal(found.find((memory) => memory.id === plain.id)?.text, plain.text);
      });
    });

    describe('neighbours', () => {
      it('returns the turns around each memory in history order, within its session and user', async () => {
        tenant = newTenant();
        const at = (minute: number) => new Date(Date.UTC(2025, 4, 1, 12, minute));
        const turns = [0, 1, 2, 3, 4].map((minute) => draft(tenant, { id: `t${minute}`, text: `turn ${minute}`, createdAt: at(minute) }));
        // Written out of order: history order is by time, not by arrival.
        for (const turn of [turns[3]!, turns[0]!, turns[4]!, turns[1]!, turns[2]!]) {
          await store.memories.apply(embedded(turn, await nextSeq(turn)));
        }
        for (const other of [
          draft(tenant, { id: 'other-session', sessionId: 'session-2', createdAt: at(2) }),
          draft(tenant, { id: 'other-user', userId: 'user-2', createdAt: at(2) }),
        ]) {
          await store.memories.apply(embedded(other, await nextSeq(other)));
        }
        const ids = (memories: readonly { id: string }[]) => memories.map((memory) => memory.id);
        const [middle, first] = await store.memories.findNeighbours(tenant, ['t2', 't0'], 2);
        assert.equal(middle?.anchorId, 't2');
        assert.deepEqual(ids(middle?.before ?? []), ['t0', 't1']);
        assert.deepEqual(ids(middle?.after ?? []), ['t3', 't4']);
        assert.deepEqual(ids(first?.before ?? []), []);
        assert.deepEqual(ids(first?.after ?? []), ['t1', 't2']);
        const [one] = await store.memories.findNeighbours(tenant, ['t2'], 1);
        assert.deepEqual([ids(one?.before ?? []), ids(one?.after ?? [])], [['t1'], ['t3']]);
        const [alone] = await store.memories.findNeighbours(tenant, ['other-session'], 2);
        assert.deepEqual([...(alone?.before ?? []), ...(alone?.after ?? [])], []);
        const [elsewhere] = await store.memories.findNeighbours(newTenant(), ['t2'], 2);
        assert.deepEqual([...(elsewhere?.before ?? []), ...(elsewhere?.after ?? [])], []);
      });
    });

    describe('tenant isolation', () => {
      it('never reads, changes or erases another tenant’s memory with the same ids', async () => {
        const [red, blue] = [newTenant(), newTenant()];
        const redMemory = draft(red, { id: 'shared-id', userId: 'shared-user', text: 'red secret' });
        const blueMemory = draft(blue, { id: 'shared-id', userId: 'shared-user', text: 'blue secret' });
        await store.memories.apply(embedded(redMemory, await nextSeq(redMemory)));
        await store.memories.apply(embedded(blueMemory, await nextSeq(blueMemory)));

        assert.equal((await store.memories.get(red, 'shared-id'))?.text, 'red secret');
        assert.deepEqual(
          (await store.memories.getMany(red, ['shared-id'])).map((memory) => memory.text),
          ['red secret'],
        );
        assert.equal((await store.memories.getEmbedded(red, 'shared-id'))?.tenantId, red);
        const history = await store.memories.findHistory({ tenantId: red, sessionId: 'session-1', limit: 10 });
        assert.deepEqual(
          history.items.map((item) => item.text),
          ['red secret'],
        );
        assert.equal(await store.memories.get(newTenant(), 'shared-id'), null);

        await store.memories.remove(red, 'shared-id');
        assert.equal((await store.memories.get(blue, 'shared-id'))?.text, 'blue secret');
        const again = { ...redMemory, text: 'red again' };
        await store.memories.apply(embedded(again, await nextSeq(again)));
        assert.equal((await store.memories.eraseUser(red, 'shared-user')).erased, 1);
        assert.deepEqual(await store.memories.listIds(blue, 'shared-user'), ['shared-id']);
        // The erasure in one tenant does not block the same user id in another.
        const later = { ...blueMemory, text: 'blue later' };
        assert.equal((await store.memories.apply(embedded(later, await nextSeq(later)))).applied, true);
      });
    });

    describe('table upkeep', () => {
      it('vacuums and analyses a table that grew, then has nothing to do until it grows again', async () => {
        await store.keepFit();
        tenant = newTenant();
        await growMemories(store, tenant);

        const done = await store.keepFit();
        assert.ok(done.includes('memories'), `memories not kept fit: ${done.join(', ')}`);
        assert.deepEqual(await store.keepFit(), []);
        assert.equal((await store.memories.listIds(tenant, 'user-1')).length, 400);
      });
    });

    describe('API keys', () => {
      const key = (fields: { id?: string; tenantId?: string; name?: string | null } = {}) => ({
        id: fields.id ?? `key-${randomUUID()}`,
        tenantId: fields.tenantId ?? 'default',
        name: fields.name ?? 'ci',
        secretHash: Buffer.from(randomUUID()),
      });

      it('creates a key and finds it while it is active', async () => {
        const created = key({ tenantId: 'acme' });
        const record = await store.apiKeys.create(created);
        assert.equal(record.id, created.id);
        assert.equal(record.tenantId, 'acme');
        assert.equal(record.name, 'ci');
        assert.equal(record.lastUsedAt, null);
        assert.equal(record.revokedAt, null);
        const found = await store.apiKeys.findActive(created.id);
        assert.deepEqual(found?.record, record);
        assert.deepEqual(found?.secretHash, created.secretHash);
        assert.ok((await store.apiKeys.list()).some((listed) => listed.id === created.id));
        await assert.rejects(store.apiKeys.create(created), { code: 'api_key_exists' });
      });

      it('revokes a key once', async () => {
        const created = key();
        await store.apiKeys.create(created);
        assert.ok((await store.apiKeys.findActive(created.id)) !== null);
        assert.equal(await store.apiKeys.revoke(created.id), true);
        assert.equal(await store.apiKeys.revoke(created.id), false);
        assert.equal(await store.apiKeys.revoke('never-existed'), false);
        assert.equal(await store.apiKeys.findActive(created.id), null);
        const listed = (await store.apiKeys.list()).find((record) => record.id === created.id);
        assert.ok(listed?.revokedAt instanceof Date);
      });

      it('ensures a key without replacing one that exists', async () => {
        const original = key({ name: 'first' });
        await store.apiKeys.ensure(original);
        await store.apiKeys.ensure({ ...original, name: 'second', secretHash: Buffer.from('other') });
        const found = await store.apiKeys.findActive(original.id);
        assert.equal(found?.record.name, 'first');
        assert.deepEqual(found?.secretHash, original.secretHash);
      });

      it('remembers when a key was last used', async () => {
        const created = key();
        await store.apiKeys.create(created);
        assert.equal((await store.apiKeys.findActive(created.id))?.record.lastUsedAt, null);
        const at = new Date('2025-06-01T08:00:00.000Z');
        await store.apiKeys.touch(created.id, at);
        await store.apiKeys.touch(created.id, new Date('2025-05-01T08:00:00.000Z'));
        assert.deepEqual((await store.apiKeys.findActive(created.id))?.record.lastUsedAt, at);
      });
    });

    describe('embedding model binding', () => {
      it('accepts the model it was bound to and refuses any other', async () => {
        await store.bindModel({ id: 'use-lite@0.2.0', dimensions: 512 });
        await store.bindModel({ id: 'use-lite@0.2.0', dimensions: 512 });
        await assert.rejects(store.bindModel({ id: 'openai:text-embedding-3-small', dimensions: 512 }), EmbeddingModelMismatchError);
        await assert.rejects(store.bindModel({ id: 'use-lite@0.2.0', dimensions: 384 }), {
          code: 'embedding_model_mismatch',
        });
      });
    });

    describe('identity', () => {
      it('is made once, then read the same; another store has its own', async () => {
        const first = await store.identity();
        assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.equal(await store.identity(), first);
        const other = await open();
        try {
          await other.migrate();
          assert.notEqual(await other.identity(), first);
        } finally {
          await other.close();
        }
      });
    });
  });
}

/** A store and the SQL connection under it, to check what a careless statement could see. */
export interface SqlStoreUnderTest {
  readonly client: SqlClient;
  readonly store: MetadataStore;
}

/**
 * Row-level security of a SQL metadata store: defence in depth under the repositories' own
 * `WHERE tenant_id`, so these statements deliberately leave it out.
 */
export function rowSecurityContract(name: string, open: () => Promise<SqlStoreUnderTest>): void {
  describe(`${name} row-level security`, () => {
    let client: SqlClient;
    let store: MetadataStore;
    let scope: RowScope;
    const [red, blue] = [`red-${randomUUID()}`, `blue-${randomUUID()}`];

    before(async () => {
      ({ client, store } = await open());
      await store.migrate();
      scope = new RowScope(client);
      await scope.refresh();
      for (const tenantId of [red, blue]) {
        const memory = draft(tenantId, { id: 'same-id', userId: 'same-user' });
        const [accepted] = await store.tasks.accept([newTask(memory, 'same-key')]);
        await store.memories.apply(embedded(memory, accepted!.seq));
        await store.memories.eraseUser(tenantId, 'gone-user');
      }
    });
    after(async () => {
      await store.close();
    });

    it('shows a tenant-scoped statement only its tenant’s rows, even without a tenant condition', async () => {
      for (const table of ['memories', 'write_tasks', 'user_erasures']) {
        const rows = await scope.tenantQuery<{ tenant_id: string }>(red, `SELECT tenant_id FROM ${table}`);
        assert.deepEqual(
          rows.map((row) => row.tenant_id),
          [red],
          table,
        );
      }
    });

    it('lets a tenant-scoped statement change only its tenant’s rows', async () => {
      const changed = await scope.tenantQuery(red, `UPDATE memories SET role = 'system' RETURNING 1`);
      assert.equal(changed.length, 1);
      assert.equal((await store.memories.get(blue, 'same-id'))?.role, 'user');
    });

    it('refuses a row written into another tenant', async () => {
      await assert.rejects(
        scope.tenantQuery(red, `INSERT INTO user_erasures (tenant_id, user_id, version) VALUES ($1, 'someone', 1)`, [blue]),
        /row-level security/,
      );
    });

    it('shows the worker’s system-wide statements every tenant', async () => {
      const rows = await scope.systemQuery<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM memories WHERE tenant_id = ANY($1)', [[red, blue]]);
      assert.equal(rows.length, 2);
    });

    it('shows the scoped role nothing when no tenant is named', async () => {
      const rows = await client.transaction(async (tx) => {
        await tx.query(`SELECT set_config('role', $1, true)`, [SCOPED_ROLE]);
        return tx.query('SELECT 1 FROM memories UNION ALL SELECT 1 FROM write_tasks UNION ALL SELECT 1 FROM user_erasures');
      });
      assert.deepEqual(rows, []);
    });
  });
}
