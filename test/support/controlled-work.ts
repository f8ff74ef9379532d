/** Work whose end a test decides, for code that schedules work. */

/** A piece of work that ends when told to, and says when it started. */
export class Work {
  started = false;
  #end: (outcome: { value: string } | { error: Error }) => void = () => undefined;
  readonly #ended = new Promise<{ value: string } | { error: Error }>((resolve) => {
    this.#end = resolve;
  });

  constructor(readonly name: string) {}

  readonly run = async (): Promise<string> => {
    this.started = true;
    const outcome = await this.#ended;
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };

  finish(): void {
    this.#end({ value: this.name });
  }

  fail(): void {
    this.#end({ error: new Error(`${this.name} failed`) });
  }
}

/** Lets every promise that can settle now do so. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
