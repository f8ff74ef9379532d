import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { SqlStatement } from '../sql/sql-client.js';
import { StatementNames } from '../sql/statement-names.js';
import { StatementResults, type FieldParser } from './backend-messages.js';

type BackendMessages = Awaited<ReturnType<PGlite['execProtocol']>>['messages'];

/**
 * Named prepared statements on a PGlite, which its `query` does not offer: `query` parses and plans
 * every statement anew, and planning a long statement costs PGlite more than running it (the
 * word search: about 7 of 11 ms). Here a text is parsed once and its parameter types described;
 * later calls only bind and execute, and Postgres keeps the plan (and plans again by itself when
 * a table it reads changes). The protocol calls take no lock of their own: call `rows` only
 * while holding the database, that is inside the callback of `PGlite.transaction`.
 */
export class PreparedStatements {
  readonly #names = new StatementNames();
  /** Parameter types of the statements prepared on this database, by name. */
  readonly #parameterTypes = new Map<string, readonly number[]>();

  constructor(private readonly db: PGlite) {}

  /** The rows of `text` run prepared; `unprepared` runs it the ordinary way once no name is left. */
  async rows(text: string, params: readonly unknown[], unprepared: () => Promise<unknown[]>): Promise<unknown[]> {
    const name = this.#names.nameOf(text);
    if (name === null) return unprepared();
    const values = await this.#values(name, text, params);
    const messages = await this.#exchange([
      protocol.serialize.bind({ statement: name, values }),
      protocol.serialize.describe({ type: 'P' }),
      protocol.serialize.execute({}),
    ]);
    return parse.parseResults(messages, this.db.parsers)[0]?.rows ?? [];
  }

  /**
   * The rows of the last statement, all of them run prepared in one transaction with a single
   * exchange: Bind and Execute for each, then a Sync, so the statements form one implicit
   * transaction that commits at the Sync, or rolls back as a whole if one fails. Each exchange
   * with PGlite has a fixed cost that for short statements exceeds the work (BEGIN, two statements
   * and COMMIT took about three times as long as this), and the answer is read straight from the
   * backend messages (see backend-messages.ts). Null, having run nothing, when a text gets no name.
   * The caller holds the database, with no transaction open (see `rows`).
   */
  async pipeline(statements: readonly SqlStatement[]): Promise<unknown[] | null> {
    let last: unknown[] = [];
    const ran = await this.#runPipelined(statements, false, (_, rows) => {
      last = rows;
    });
    return ran ? last : null;
  }

  /**
   * Runs `statements` as `pipeline` does, but with a Flush after each: PostgreSQL sends each
   * statement's answer as soon as it has run, and `onRows` gets it then, while the next
   * statements still run. False, having run nothing, when a text gets no name. Throws the first
   * error PostgreSQL reported, after `onRows` got the statements before it. The caller holds the
   * database, with no transaction open (see `rows`).
   */
  stream(statements: readonly SqlStatement[], onRows: (index: number, rows: unknown[]) => void): Promise<boolean> {
    return this.#runPipelined(statements, true, onRows);
  }

  /**
   * Bind and Execute for each statement in one exchange, then a Sync; `onRows` gets each
   * statement's rows as they are read. With `flushEach`, each statement is described and flushed
   * (its answer comes as soon as it has run); otherwise only the last is described, and the
   * answers come when the server sends them.
   */
  async #runPipelined(statements: readonly SqlStatement[], flushEach: boolean, onRows: (index: number, rows: unknown[]) => void): Promise<boolean> {
    const messages: Uint8Array[] = [];
    for (const [index, statement] of statements.entries()) {
      const name = this.#names.nameOf(statement.text);
      if (name === null) return false;
      messages.push(protocol.serialize.bind({ statement: name, values: await this.#values(name, statement.text, statement.params) }));
      // The columns as they are now: a table may have changed since the statement was prepared.
      if (flushEach || index === statements.length - 1) messages.push(protocol.serialize.describe({ type: 'P' }));
      messages.push(protocol.serialize.execute({}));
      if (flushEach) messages.push(protocol.serialize.flush());
    }
    const results = new StatementResults(this.db.parsers as Readonly<Record<number, FieldParser | undefined>>, onRows);
    let receiving = true;
    let failure: unknown = null;
    const onRawData = (data: Uint8Array): void => {
      if (!receiving || failure !== null) return;
      // Read at once: the data is a view into PGlite's memory, reused by its next output.
      try {
        results.push(data);
      } catch (error) {
        failure = error;
      }
    };
    try {
      await this.db.execProtocolRawStream(Buffer.concat(messages), { syncToFs: false, onRawData });
    } finally {
      // The Sync ends the implicit transaction. PGlite keeps sending output to the last raw
      // stream's callback until an `execProtocol` call ends: sending the Sync that way gives
      // its output handling back to everyone else's statements. Its own output still comes
      // here, and with it an error of the commit (such as a log that could not be written).
      try {
        await this.db.execProtocol(protocol.serialize.sync());
      } finally {
        receiving = false;
      }
    }
    if (failure !== null) throw failure;
    return true;
  }

  async #values(name: string, text: string, params: readonly unknown[]): Promise<(string | null)[]> {
    const types = this.#parameterTypes.get(name) ?? (await this.#prepare(name, text));
    return params.map((value, index) => {
      if (value === null || value === undefined) return null;
      const serializer = this.db.serializers[types[index] ?? 0];
      return serializer === undefined ? String(value) : serializer(value);
    });
  }

  async #prepare(name: string, text: string): Promise<readonly number[]> {
    let messages: BackendMessages;
    try {
      messages = await this.#exchange([protocol.serialize.parse({ name, text }), protocol.serialize.describe({ type: 'S', name })]);
    } catch (error) {
      // A statement parsed before the description failed would block the name's next Parse.
      await this.#exchange([protocol.serialize.close({ type: 'S', name })]).catch(() => undefined);
      throw error;
    }
    const types = parse.parseDescribeStatementResults(messages);
    this.#parameterTypes.set(name, types);
    return types;
  }

  /** Sends the messages one by one and then a Sync, also after an error, as PGlite's own `query` does. */
  async #exchange(outgoing: readonly Uint8Array[]): Promise<BackendMessages> {
    const received: BackendMessages = [];
    try {
      for (const message of outgoing) received.push(...(await this.db.execProtocol(message, { syncToFs: false })).messages);
    } finally {
      received.push(...(await this.db.execProtocol(protocol.serialize.sync(), { syncToFs: false })).messages);
    }
    return received;
  }
}
