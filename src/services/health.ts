/** A dependency whose reachability is reported by /readyz. */
export interface DependencyProbe {
  readonly name: string;
  ping(): Promise<void>;
}

export interface Readiness {
  readonly ready: boolean;
  readonly dependencies: Readonly<Record<string, 'up' | 'down'>>;
}

const PROBE_TIMEOUT_MS = 2_000;

function withTimeout(probe: DependencyProbe): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${probe.name} did not answer`)), PROBE_TIMEOUT_MS);
    probe.ping().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Asks every dependency at once whether it answers, each within a bounded time. */
export class HealthCheck {
  constructor(private readonly probes: readonly DependencyProbe[]) {}

  async readiness(): Promise<Readiness> {
    const outcomes = await Promise.allSettled(this.probes.map(withTimeout));
    const dependencies: Record<string, 'up' | 'down'> = {};
    this.probes.forEach((probe, index) => {
      dependencies[probe.name] = outcomes[index]?.status === 'fulfilled' ? 'up' : 'down';
    });
    return { ready: Object.values(dependencies).every((state) => state === 'up'), dependencies };
  }
}
