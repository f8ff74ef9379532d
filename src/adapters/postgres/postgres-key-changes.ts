import pg from 'pg';
import type { Logger } from '../../ports/logger.js';
import type { KeyChanges } from '../sql/key-changes.js';
import { API_KEY_CHANGES_CHANNEL } from '../sql/migrations/0008-api-key-changes.js';
import type { PostgresConnection } from './connection-config.js';

/** The first wait before listening again after the connection was lost; it doubles up to the last. */
const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 30_000;
/** TCP keep-alive on the listening connection, which is otherwise silent for hours. */
const KEEP_ALIVE_DELAY_MS = 10_000;

type State = 'idle' | 'connecting' | 'listening' | 'waiting' | 'closed';

export interface PostgresKeyChangesOptions {
  readonly connection: PostgresConnection;
  /**
   * How long connecting and the LISTEN may take before the connection counts as lost, in ms: one
   * that hangs (a server that stopped answering, a route that broke) is otherwise never retried.
   * Default 5000.
   */
  readonly connectTimeoutMs?: number;
  readonly logger: Logger;
}

/**
 * Listens on a connection of its own for the key changes the database announces (migration 0008),
 * from the first `listening()` on: a process that never authenticates a request (a worker, the
 * CLI) never opens it. A lost connection (or one not listening within the connect timeout)
 * forgets every key and is opened again, after 1 s, then waits doubling up to 30 s; each new
 * LISTEN forgets every key again, since changes made while nobody listened were never told.
 */
export class PostgresKeyChanges implements KeyChanges {
  readonly #options: PostgresKeyChangesOptions;
  readonly #forgetters: ((keyId: string | null) => void)[] = [];
  #state: State = 'idle';
  #client: pg.Client | null = null;
  #epoch = 0;
  #retryMs = FIRST_RETRY_MS;
  #retry: NodeJS.Timeout | null = null;

  constructor(options: PostgresKeyChangesOptions) {
    this.#options = options;
  }

  get epoch(): number {
    return this.#epoch;
  }

  listening(): boolean {
    if (this.#state === 'idle') this.#listen();
    return this.#state === 'listening';
  }

  onChange(forget: (keyId: string | null) => void): void {
    this.#forgetters.push(forget);
  }

  async close(): Promise<void> {
    const wasListening = this.#state === 'listening';
    this.#state = 'closed';
    if (wasListening) this.#changed(null);
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  #listen(): void {
    this.#state = 'connecting';
    const { connection, connectTimeoutMs = 5_000 } = this.#options;
    const client = new pg.Client({
      ...connection,
      connectionTimeoutMillis: connectTimeoutMs,
      query_timeout: connectTimeoutMs,
      application_name: 'engram-key-changes',
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEP_ALIVE_DELAY_MS,
    });
    this.#client = client;
    client.on('notification', (message) => {
      // An empty payload (a TRUNCATE, migration 0016) tells of every key.
      if (message.channel === API_KEY_CHANGES_CHANNEL) this.#changed(message.payload === undefined || message.payload === '' ? null : message.payload);
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, null));
    client
      .connect()
      .then(() => client.query(`LISTEN ${API_KEY_CHANGES_CHANNEL}`))
      .then(
        () => {
          if (this.#client !== client) return;
          this.#state = 'listening';
          this.#retryMs = FIRST_RETRY_MS;
          this.#changed(null);
          this.#options.logger.debug('listening for API key changes');
        },
        (error: unknown) => this.#lost(client, error),
      );
  }

  #changed(keyId: string | null): void {
    this.#epoch += 1;
    for (const forget of this.#forgetters) forget(keyId);
  }

  /** Forgets every key, and listens again later; a client already replaced or closed is ignored. */
  #lost(client: pg.Client, error: unknown): void {
    if (this.#client !== client || this.#state === 'closed') return;
    this.#client = null;
    this.#state = 'waiting';
    this.#changed(null);
    client.end().catch(() => undefined);
    this.#options.logger.warn({ err: error, retryInMs: this.#retryMs }, 'lost the API key changes connection; keys are read for every request until it is back');
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.#state === 'waiting') this.#listen();
    }, this.#retryMs);
    this.#retry.unref();
    this.#retryMs = Math.min(LAST_RETRY_MS, this.#retryMs * 2);
  }
}
