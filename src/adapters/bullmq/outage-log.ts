import type { Logger } from '../../ports/logger.js';

/**
 * Logs a lost Redis connection once, not at every reconnect attempt, and its return once.
 * Messages carry the error text only: ioredis never puts the password in it.
 */
export class OutageLog {
  private down = false;

  constructor(
    private readonly logger: Logger,
    private readonly side: 'producer' | 'consumer',
  ) {}

  failed(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (this.down) {
      this.logger.debug({ side: this.side, reason }, 'redis still unreachable');
      return;
    }
    this.down = true;
    this.logger.warn({ side: this.side, reason }, 'redis unreachable; reconnecting in the background');
  }

  recovered(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.info({ side: this.side }, 'redis reachable again');
  }
}
