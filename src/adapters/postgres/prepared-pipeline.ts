import pg from 'pg';
import { prepareValue } from 'pg/lib/utils.js';

/** A statement prepared on the connection already: its name and this call's values. */
export interface BoundStatement {
  readonly name: string;
  readonly values: readonly unknown[];
}

/** Told the rows of each statement of a pipeline as soon as the server has run it, in order. */
export type StatementAnswered = (index: number, rows: unknown[]) => void;

/**
 * node-postgres's own handler of the end of one statement's answer, which this file's query wraps:
 * the driver's typings leave it out.
 */
interface CommandCompleteHandler {
  handleCommandComplete(message: unknown, connection: pg.Connection): void;
}
const driverCommandComplete = (pg.Query.prototype as unknown as CommandCompleteHandler).handleCommandComplete;

/**
 * Statements prepared on a connection, run in one round trip: Bind, Describe and Execute for
 * each, then one Sync, written at once. The statements form one implicit transaction that commits
 * at the Sync, or rolls back as a whole if one fails, so no BEGIN and COMMIT are needed; the
 * answer is the rows of the last statement. node-postgres's own Query reads the answer (its row
 * parsing and type parsers, a result per statement); only what is sent differs. With `answered`,
 * a Flush follows each statement, so that the server sends each one's rows as soon as it has run
 * them, and each is told as it arrives.
 */
class PipelinedStatements extends pg.Query {
  /** The driver's result of the statement whose answer is arriving, once it has sent a row. */
  #arriving: { readonly rows: unknown[] } | null = null;
  #completed = 0;

  constructor(
    private readonly statements: readonly BoundStatement[],
    callback: (error: Error | undefined, result: unknown) => void,
    private readonly answered?: StatementAnswered,
  ) {
    super({ text: '' }, callback);
    this.submit = (connection: pg.Connection): void => this.#send(connection);
    if (answered === undefined) return;
    // The driver keeps each statement's rows in a result of its own (a callback is given), which
    // comes with every row: a statement that sent none has none.
    this.on('row', (_row: unknown, result?: { readonly rows: unknown[] }) => (this.#arriving = result ?? null));
    const complete = (message: unknown, connection: pg.Connection): void => {
      driverCommandComplete.call(this, message, connection);
      const rows = this.#arriving?.rows ?? [];
      this.#arriving = null;
      answered(this.#completed++, rows);
    };
    (this as unknown as CommandCompleteHandler).handleCommandComplete = complete;
  }

  #send(connection: pg.Connection): void {
    const { stream } = connection;
    stream.cork();
    try {
      for (const { name, values } of this.statements) {
        connection.bind({ statement: name, values: values.map((value) => prepareValue(value)) }, true);
        // Every statement is described: node-postgres parses a row only with its columns known.
        connection.describe({ type: 'P', name: '' }, true);
        connection.execute({ portal: '' }, true);
        if (this.answered !== undefined) connection.flush();
      }
      connection.sync();
    } finally {
      stream.uncork();
    }
  }
}

/** Runs `statements`, all prepared on `client` before, in one round trip (see PipelinedStatements). */
export function runPipelined<Row>(client: pg.ClientBase, statements: readonly BoundStatement[]): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    client.query(
      new PipelinedStatements(statements, (error, result) => {
        if (error !== undefined && error !== null) {
          reject(error);
          return;
        }
        const results = Array.isArray(result) ? result : [result];
        const last: unknown = results[results.length - 1];
        resolve(isResult(last) ? (last.rows as Row[]) : []);
      }),
    );
  });
}

/**
 * Runs `statements`, all prepared on `client` before, in one round trip, and tells `answered` the
 * rows of each as soon as the server has run it (see PipelinedStatements). Resolves once all have
 * run; rejects with the error of the statement that failed, after those before it were told.
 */
export function runPipelinedEach(client: pg.ClientBase, statements: readonly BoundStatement[], answered: StatementAnswered): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(
      new PipelinedStatements(
        statements,
        (error) => {
          if (error !== undefined && error !== null) reject(error);
          else resolve();
        },
        answered,
      ),
    );
  });
}

function isResult(value: unknown): value is { rows: unknown[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { rows?: unknown }).rows);
}
