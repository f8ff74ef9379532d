import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import { StatementNames } from '../sql/statement-names.js';

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
    const types = this.#parameterTypes.get(name) ?? (await this.#prepare(name, text));
    const values = params.map((value, index) => {
      if (value === null || value === undefined) return null;
      const serializer = this.db.serializers[types[index] ?? 0];
      return serializer === undefined ? String(value) : serializer(value);
    });
    const messages = await this.#exchange([
      protocol.serialize.bind({ statement: name, values }),
      protocol.serialize.describe({ type: 'P' }),
      protocol.serialize.execute({}),
    ]);
    return parse.parseResults(messages, this.db.parsers)[0]?.rows ?? [];
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
