import type { FastifyRequest } from 'fastify';
import { OverloadedError } from '../domain/errors.js';

/**
 * Caps the requests handled at once. Beyond the cap a request is refused with 503 `overloaded`
 * before its body is read, so a flood costs a socket each rather than memory without bound.
 * Routes in `exempt` (probes, metrics) are always served: they say how loaded the process is.
 */
export class LoadShedder {
  private readonly counted = new WeakSet<FastifyRequest>();
  private inFlight = 0;

  constructor(
    private readonly maxInFlight: number,
    private readonly exempt: ReadonlySet<string>,
  ) {}

  admit(request: FastifyRequest): void {
    if (this.exempt.has(request.routeOptions.url ?? '')) return;
    if (this.inFlight >= this.maxInFlight) {
      throw new OverloadedError('too many requests in flight', { limit: this.maxInFlight });
    }
    this.inFlight += 1;
    this.counted.add(request);
  }

  /** Called when the response is sent and when the client goes away: counts a request down once. */
  release(request: FastifyRequest): void {
    if (this.counted.delete(request)) this.inFlight -= 1;
  }
}
