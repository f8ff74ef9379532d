import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  constructor(options: { readonly collectProcessMetrics?: boolean } = {}) {
    if (options.collectProcessMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'engram_' });
  }
}
