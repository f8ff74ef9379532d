export interface ChromaServerConfigOptions {
  /** The folder of Chroma's files. */
  readonly persistPath: string;
  /** Address to listen on: 127.0.0.1 for the embedded server, which has no authentication. */
  readonly listenAddress: string;
  readonly port: number;
}

/**
 * Collections whose description (id, dimension, configuration, segments) a Chroma server keeps in
 * memory. Its single-node default keeps none, and reads them from its SQLite catalogue for every
 * request: about 1.5 ms of Chroma's CPU out of 4 for each query of a search. Engram's collections
 * are its buckets, the users promoted to a collection of their own and a marker; past this many,
 * the least used are read again when asked for.
 */
const CACHED_COLLECTIONS = 1_000;

/**
 * A cached description is read again after this many seconds. Within one server, deleting or
 * changing a collection drops its entry at once; the expiry only bounds how long a server could
 * trust a description changed behind its back.
 */
const CACHE_TTL_SECONDS = 60;

/**
 * A request that fails on a cached description (a collection dropped meanwhile) is tried again
 * this many times with the description read afresh.
 */
const RETRIES_ON_A_STALE_DESCRIPTION = 2;

/**
 * The configuration file of a Chroma server that Engram runs (`chroma run FILE`): where it keeps
 * its files, where it listens, and a cache of collection descriptions in place of the single-node
 * default of none. Strings are written as JSON strings, which YAML reads the same way.
 */
export function chromaServerConfig(options: ChromaServerConfigOptions): string {
  return [
    `persist_path: ${JSON.stringify(options.persistPath)}`,
    `listen_address: ${JSON.stringify(options.listenAddress)}`,
    `port: ${options.port}`,
    ...collectionCacheSection(),
    '',
  ].join('\n');
}

/** The cache section alone, as `deploy/chroma/config.yaml` also carries it. */
export function collectionCacheSection(): string[] {
  return [
    'collections_with_segments_provider:',
    '  cache:',
    '    lru:',
    `      capacity: ${CACHED_COLLECTIONS}`,
    `  cache_ttl_secs: ${CACHE_TTL_SECONDS}`,
    '  permitted_parallelism: 32',
    '  cache_invalidation_retry_policy:',
    '    delay_ms: 0',
    `    max_retries: ${RETRIES_ON_A_STALE_DESCRIPTION}`,
  ];
}
