import { ROUTES_COLLECTION } from './collection-name.js';
import type { Collections, CollectionSpec } from './collections.js';
import { TENANT_ID_KEY, USER_ID_KEY } from './record-metadata.js';
import { parseGetAnswer } from './responses.js';
import { encodeStoredRecords } from './upsert-body.js';

/**
 * Where one owner's vectors are:
 * - `bucket`: in a shared bucket collection, found with a `where` on the owner key;
 * - `migrating`: being copied to a dedicated collection; the bucket is still complete;
 * - `dedicated`: in a collection of their own. Until `cleared`, writes also go to the bucket, so
 *   a process whose routing table is not yet refreshed still reads complete results there.
 */
export type Route =
  | { readonly kind: 'bucket' }
  | { readonly kind: 'migrating'; readonly since: number }
  | { readonly kind: 'dedicated'; readonly since: number; readonly cleared: boolean };

export interface OwnerRoutesOptions {
  /** A routing table older than this is refreshed in the background on its next use. */
  readonly refreshMs: number;
}

const BUCKET: Route = { kind: 'bucket' };
const PAGE = 1_000;
/**
 * A refresh's pages overlap by this many routes: each route removed while the table is read (an
 * erasure) shifts the routes after it back by one, and one would fall between two pages.
 */
const PAGE_OVERLAP = 100;
const STATE_KEY = 'state';
const SINCE_KEY = 'since';
const CLEARED_KEY = 'cleared';
/** Registry records need a vector; one fixed dimension is enough, it is never searched. */
const PLACEHOLDER_EMBEDDING = new Float32Array([1]);
const ROUTES_SPEC: CollectionSpec = { metadata: { engram_role: 'routes' } };

/**
 * The routing table: one record per owner that left the buckets, in a Chroma collection so that
 * every process reads the same table. Each process keeps a copy that it refreshes every
 * `refreshMs`; writers confirm the routes they used right after writing (see ChromaVectorStore),
 * so a stale copy can delay a route change for readers but never lose a write.
 */
export class OwnerRoutes {
  readonly #collections: Collections;
  readonly #refreshMs: number;
  #table = new Map<string, Route>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | null = null;

  constructor(collections: Collections, options: OwnerRoutesOptions) {
    this.#collections = collections;
    this.#refreshMs = options.refreshMs;
  }

  /** The route from this process's copy; waits for a refresh only when the copy is very old. */
  async lookup(owner: string): Promise<Route> {
    const age = performance.now() - this.#loadedAt;
    if (age > 2 * this.#refreshMs) await this.#refresh();
    // A failed background refresh is harmless: the copy is still fresh enough, and the next
    // lookup past twice the period refreshes in line and reports the failure to its caller.
    else if (age > this.#refreshMs) void this.#refresh().catch(() => undefined);
    return this.#table.get(owner) ?? BUCKET;
  }

  /** The routes as the registry holds them now, read fresh; the copy is updated with them. */
  async confirm(owners: readonly string[]): Promise<Map<string, Route>> {
    const found = new Map<string, Route>();
    for (let start = 0; start < owners.length; start += PAGE) {
      const ids = owners.slice(start, start + PAGE);
      const page = await this.#read({ ids, include: ['metadatas'] });
      for (const [owner, route] of page) found.set(owner, route);
    }
    const confirmed = new Map<string, Route>();
    for (const owner of owners) {
      const route = found.get(owner) ?? BUCKET;
      confirmed.set(owner, route);
      if (route.kind === 'bucket') this.#table.delete(owner);
      else this.#table.set(owner, route);
    }
    return confirmed;
  }

  async set(owner: string, tenantId: string, userId: string, route: Exclude<Route, { kind: 'bucket' }>): Promise<void> {
    const metadata = new Map<string, string | number | boolean>([
      [STATE_KEY, route.kind],
      [SINCE_KEY, route.since],
      [CLEARED_KEY, route.kind === 'dedicated' && route.cleared],
      [TENANT_ID_KEY, tenantId],
      [USER_ID_KEY, userId],
    ]);
    const body = encodeStoredRecords([{ id: owner, embedding: PLACEHOLDER_EMBEDDING, metadata }]);
    await this.#collections.post(ROUTES_COLLECTION, ROUTES_SPEC, true, 'upsert', body);
    this.#table.set(owner, route);
  }

  async remove(owner: string): Promise<void> {
    await this.#collections.post(ROUTES_COLLECTION, ROUTES_SPEC, false, 'delete', { ids: [owner] });
    this.#table.delete(owner);
  }

  /** One refresh at a time; concurrent callers share it. */
  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const table = new Map<string, Route>();
        for (let offset = 0; ; offset += PAGE - PAGE_OVERLAP) {
          const page = await this.#read({ include: ['metadatas'], limit: PAGE, offset });
          for (const [owner, route] of page) table.set(owner, route);
          if (page.size < PAGE) break;
        }
        this.#table = table;
        this.#loadedAt = performance.now();
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  async #read(body: Record<string, unknown>): Promise<Map<string, Route>> {
    const answer = await this.#collections.post(ROUTES_COLLECTION, ROUTES_SPEC, false, 'get', body);
    const routes = new Map<string, Route>();
    if (answer === null) return routes;
    const { ids, metadatas } = parseGetAnswer(answer);
    ids.forEach((owner, index) => routes.set(owner, toRoute(metadatas[index] ?? {})));
    return routes;
  }
}

function toRoute(metadata: Readonly<Record<string, unknown>>): Route {
  const since = typeof metadata[SINCE_KEY] === 'number' ? metadata[SINCE_KEY] : 0;
  if (metadata[STATE_KEY] === 'dedicated') return { kind: 'dedicated', since, cleared: metadata[CLEARED_KEY] === true };
  return { kind: 'migrating', since };
}
