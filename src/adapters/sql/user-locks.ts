/**
 * A user's erasure excludes the statements that decide what the user holds: applies of their
 * writes, and accepts of them (which give each write its place in the write order). Without it,
 * an erasure could miss a row that an apply inserts concurrently, or a write accepted before it
 * (its number drawn first) that commits while the erasure reads the writes not yet stored. The
 * others take the same lock shared; the erasure waits for those under way, and those that come
 * after wait for the erasure and follow it in the write order.
 */
export const LOCK_USER_EXCLUSIVE = 'SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))';

/** The users' locks (see LOCK_USER_EXCLUSIVE) taken shared, in one order: `$1` a tenant, `$2` its users. */
export const LOCK_USERS_SHARED = `SELECT count(pg_advisory_xact_lock_shared(hashtext($1), hashtext(user_id)))
                           FROM (SELECT unnest($2::text[]) AS user_id ORDER BY 1) users`;
