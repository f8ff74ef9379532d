/** A step held until the test lets it go, telling when it is reached. */
export interface HeldStep {
  readonly reached: Promise<void>;
  release(): void;
  hold(): Promise<void>;
}

export function heldStep(): HeldStep {
  let reach = (): void => undefined;
  let release = (): void => undefined;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    reached,
    release: () => release(),
    hold: () => {
      reach();
      return released;
    },
  };
}

/** `target` with one method replaced; the others are its own, called on it. */
export function withMethod<T extends object, K extends keyof T>(target: T, name: K, method: T[K]): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === name) return method;
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}
