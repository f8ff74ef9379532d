import type { Logger } from '../ports/logger.js';

/**
 * What a process opened, closed in reverse order. If start-up fails half way, closing releases
 * exactly what was opened, so a failed boot leaves no child process or connection behind.
 */
export class Resources {
  private readonly closers: Array<{ readonly name: string; readonly close: () => Promise<void> }> = [];
  private closing: Promise<void> | null = null;

  constructor(private readonly logger: Logger) {}

  add<T>(name: string, resource: T, close: (resource: T) => Promise<void>): T {
    this.closers.push({ name, close: () => close(resource) });
    return resource;
  }

  /** Safe to call twice: the second call waits for the first. */
  closeAll(): Promise<void> {
    this.closing ??= (async () => {
      for (const closer of this.closers.reverse()) {
        try {
          await closer.close();
        } catch (error) {
          this.logger.warn({ err: error, resource: closer.name }, 'closing failed');
        }
      }
    })();
    return this.closing;
  }
}
