import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RestartCounts } from '../ports/restart-counts.js';

/** Prometheus metrics of one process. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'engram_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly writesAccepted = new Counter({
    name: 'engram_writes_accepted_total',
    help: 'Memories accepted for writing',
    registers: [this.registry],
  });
  readonly searches = new Counter({
    name: 'engram_searches_total',
    help: 'Searches served',
    registers: [this.registry],
  });

  readonly dependencyStops = new Counter({
    name: 'engram_dependency_stops_total',
    help: 'Times a dependency that Engram runs itself (embedded chroma and postgres, embedding threads) stopped by itself; each is started again',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });
  readonly dependencyStartFailures = new Counter({
    name: 'engram_dependency_start_failures_total',
    help: 'Starts of a stopped dependency that Engram runs itself that failed; another is tried later, up to 30 s apart',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  constructor(options: { readonly collectProcessMetrics?: boolean } = {}) {
    if (options.collectProcessMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'engram_' });
  }

  /** The restart counts of one dependency this process runs itself, published as 0 until it stops. */
  restartCountsOf(dependency: string): RestartCounts {
    this.dependencyStops.inc({ dependency }, 0);
    this.dependencyStartFailures.inc({ dependency }, 0);
    return {
      stopped: () => this.dependencyStops.inc({ dependency }),
      startFailed: () => this.dependencyStartFailures.inc({ dependency }),
    };
  }
}
