import { SCOPED_ROLE } from './migrations/0002-row-level-security.js';
import type { SqlClient, SqlStatement } from './sql-client.js';

export type StatementOptions = Pick<SqlStatement, 'prepare'>;

/**
 * How a transaction commits. `flushed`: its answer waits until its log is on the disk. `unflushed`:
 * it does not wait (PostgreSQL's asynchronous commit, `synchronous_commit` off), and a crash of the
 * process or the machine may lose it. Only for the worker's own steps, which are redone from their
 * task after such a loss: the task was accepted with a flushed commit, and the log is written in
 * order, so the next flushed commit of anyone flushes the unflushed ones before it, and what a crash
 * can lose is a tail of the worker's steps only, never a caller's accepted write.
 */
export type CommitMode = 'flushed' | 'unflushed';

/**
 * Opens the transactions that row-level security expects: each one declares, before anything
 * else, which tenant it acts for, or that it is a worker-side statement over every tenant.
 */
export class RowScope {
  private switchRole = false;

  constructor(private readonly client: SqlClient) {}

  /**
   * Decides whether scoped transactions switch to the scoped role: needed when the connecting
   * user is a superuser or bypasses row security, possible once migrations made the role.
   */
  async refresh(): Promise<void> {
    const rows = await this.client.query<{ switch_role: boolean | null }>(
      `SELECT CASE
         WHEN NOT (me.rolsuper OR me.rolbypassrls) THEN false
         WHEN scoped.oid IS NULL OR to_regclass('memories') IS NULL THEN false
         ELSE pg_has_role(current_user, scoped.oid, 'MEMBER')
              AND has_table_privilege(scoped.oid, 'memories', 'SELECT')
       END AS switch_role
       FROM pg_roles me LEFT JOIN pg_roles scoped ON scoped.rolname = $1
       WHERE me.rolname = current_user`,
      [SCOPED_ROLE],
    );
    this.switchRole = rows[0]?.switch_role === true;
  }

  /**
   * Runs one statement seeing only this tenant's rows: one round trip where the client allows.
   * `prepare` keeps the statement's plan (see SqlStatement).
   */
  tenantQuery<Row>(tenantId: string, text: string, params: readonly unknown[] = [], options: StatementOptions = {}): Promise<Row[]> {
    return this.tenantTransactionOf<Row>(tenantId, [{ text, params, ...options }]);
  }

  /**
   * Runs statements in order in one transaction seeing only this tenant's rows, handed to the
   * client at once; returns the rows of the last.
   */
  tenantTransactionOf<Row>(tenantId: string, statements: readonly SqlStatement[], commit: CommitMode = 'flushed'): Promise<Row[]> {
    return this.client.transactionOf<Row>([this.declaration(tenantId, '', commit), ...statements]);
  }

  /**
   * As tenantTransactionOf, for a transaction that may rightly take long (the erasure of a user of
   * many memories): with no limit on how long it goes unanswered (see SqlClient.unhurried).
   */
  tenantTransactionUnhurried<Row>(tenantId: string, statements: readonly SqlStatement[]): Promise<Row[]> {
    return this.client.unhurried.transactionOf<Row>([this.declaration(tenantId, '', 'flushed'), ...statements]);
  }

  /**
   * Runs statements that only read, each seeing only this tenant's rows, and answers each one's
   * rows on its own (see SqlClient.readEach).
   */
  tenantReadEach(tenantId: string, statements: readonly SqlStatement[]): Array<Promise<unknown[]>> {
    return this.client.readEach([this.declaration(tenantId, '', 'flushed')], statements);
  }

  /**
   * Runs one statement over every tenant: only for the worker's task bookkeeping, whose statements
   * are a fixed few texts, run for every write. Prepared.
   */
  systemQuery<Row>(text: string, params: readonly unknown[] = [], commit: CommitMode = 'flushed'): Promise<Row[]> {
    return this.client.transactionOf<Row>([this.declaration('', 'system', commit), { text, params, prepare: true }]);
  }

  /**
   * Transaction-local settings: a pooled connection carries nothing over to its next user. A
   * prepared statement is planned once for all parameters (a generic plan) rather than again for
   * each call: the statements Engram prepares are written to need no knowledge of the values.
   */
  private declaration(tenantId: string, scope: string, commit: CommitMode): SqlStatement {
    const unflushed = commit === 'unflushed' ? `, set_config('synchronous_commit', 'off', true)` : '';
    const settings = `set_config('engram.tenant_id', $1, true), set_config('engram.scope', $2, true),
                      set_config('plan_cache_mode', 'force_generic_plan', true)${unflushed}`;
    return this.switchRole
      ? { text: `SELECT ${settings}, set_config('role', $3, true)`, params: [tenantId, scope, SCOPED_ROLE], prepare: true }
      : { text: `SELECT ${settings}`, params: [tenantId, scope], prepare: true };
  }
}
