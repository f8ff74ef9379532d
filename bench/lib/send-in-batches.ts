/** How a load is split into batches and sent by a few senders at once. */
export interface BatchSending {
  /** Items to send in all. */
  readonly total: number;
  readonly batchSize: number;
  /** Senders running at once. */
  readonly senders: number;
  /** Resolves once another batch may be sent (the loader keeps a window of unfinished writes). */
  readonly room: () => Promise<void>;
  /** Sends one batch of `size` items. */
  readonly send: (size: number) => Promise<void>;
}

/**
 * Sends `total` items in batches of at most `batchSize` from several senders. A sender claims its
 * batch only once it has room to send it: a sender that counted what was left before waiting for
 * room, while another sent the last batch, sent an empty one.
 */
export async function sendInBatches({ total, batchSize, senders, room, send }: BatchSending): Promise<void> {
  let claimed = 0;
  const sender = async (): Promise<void> => {
    for (;;) {
      await room();
      const size = Math.min(batchSize, total - claimed);
      if (size <= 0) return;
      claimed += size;
      await send(size);
    }
  };
  await Promise.all(Array.from({ length: senders }, sender));
}
