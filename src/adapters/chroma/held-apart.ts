/**
 * Writes the records a collection already holds apart from the new ones, those first.
 *
 * Chroma 1.0 can lose a new record from its vector index when the same request also moves a
 * record it holds to another vector: the new record stays in the collection and `get` returns it,
 * but no query finds it again, whatever `n_results`. Seen on a fresh collection of 120 vectors,
 * with one request that added a record where an existing one was and moved that one away: the new
 * record was lost in 12 of 300 tries with the vectors along one curve, 10 of 1,200 with them spread
 * around one direction; in two requests, the moved record first, 0 of 300 and 1 of 2,400.
 * Unchanged records written again beside new ones (a retry) lost none in 300.
 *
 * Moves and removals can still cut a record off its neighbours now and then (Chroma's index does
 * not repair itself); that is Chroma's to mend. The lookup and the writes run in the records'
 * turn (`inTurn`, RecordTurns in this process): no other write of this process adds one of them in
 * between. A writer in another process that adds the same id between them still mixes the two:
 * there the lookup narrows the window, it does not close it.
 */
export async function writeHeldApart<T extends { readonly id: string }>(
  records: readonly T[],
  heldIds: (ids: readonly string[]) => Promise<readonly string[]>,
  write: (records: readonly T[]) => Promise<void>,
  inTurn: InTurn,
): Promise<void> {
  if (records.length === 0) return;
  const ids = records.map((record) => record.id);
  await inTurn(ids, async () => {
    const held = new Set(await heldIds(ids));
    const replacing = records.filter((record) => held.has(record.id));
    const adding = records.filter((record) => !held.has(record.id));
    if (replacing.length > 0) await write(replacing);
    if (adding.length > 0) await write(adding);
  });
}

/** Runs `work` once no other write of this process holds any of the records `ids` (see RecordTurns). */
export type InTurn = (ids: readonly string[], work: () => Promise<void>) => Promise<void>;
