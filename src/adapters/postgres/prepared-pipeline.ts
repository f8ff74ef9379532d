import pg from 'pg';
import { prepareValue } from 'pg/lib/utils.js';

/** A statement prepared on the connection already: its name and this call's values. */
export interface BoundStatement {
  readonly name: string;
  readonly values: readonly unknown[];
}

/**
 * Statements prepared on a connection, run in one round trip: Bind, Describe and Execute for
 * each, then one Sync, written at once. The statements form one implicit transaction that commits
 * at the Sync, or rolls back as a whole if one fails, so no BEGIN and COMMIT are needed; the
 * answer is the rows of the last statement. node-postgres's own Query reads the answer (its row
 * parsing and type parsers, a result per statement); only what is sent differs.
 */
class PipelinedStatements extends pg.Query {
  constructor(
    private readonly statements: readonly BoundStatement[],
    callback: (error: Error | undefined, result: unknown) => void,
  ) {
    super({ text: '' }, callback);
    this.submit = (connection: pg.Connection): void => this.#send(connection);
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

function isResult(value: unknown): value is { rows: unknown[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { rows?: unknown }).rows);
}
