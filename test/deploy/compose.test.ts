import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { DCLinter } from 'dclint';
import { parse } from 'yaml';
import { collectionCacheSection } from '../../src/adapters/chroma/server-config.js';
import { MALLOC_TUNABLES } from '../../src/config/malloc-tunables.js';

const root = process.cwd();
const composePath = join(root, 'docker-compose.yml');
const composeSource = readFileSync(composePath, 'utf8');
const makeSecrets = join(root, 'deploy', 'make-secrets.sh');

const STORES = ['redis', 'postgres', 'chroma'] as const;
const ENGRAM_SERVICES = ['api', 'worker', 'migrate'] as const;
const ONE_SHOT = new Set(['migrate']);
/** Environment variables whose value would be a credential: they may only appear as NAME_FILE. */
const SECRET_VARIABLES = ['DATABASE_URL', 'REDIS_URL', 'ENGRAM_API_KEY', 'ENGRAM_EMBED_API_KEY', 'POSTGRES_PASSWORD'];

type Yaml = Record<string, unknown>;

/** What dclint reports for one problem (its own type declarations do not resolve under NodeNext). */
interface LintMessage {
  readonly line: number;
  readonly rule: string;
  readonly message: string;
}

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  secrets?: (string | { source: string })[];
  configs?: { source: string; target?: string }[];
  volumes?: string[];
  ports?: unknown[];
  expose?: unknown[];
  networks?: string[] | Record<string, unknown>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  container_name?: string;
  deploy?: { resources?: { limits?: { memory?: string } } };
}

interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean } | null>;
  secrets: Record<string, { file?: string; environment?: string }>;
  configs?: Record<string, { file?: string }>;
}

// Compose honours YAML merge keys (`<<: *anchor`), so the file is read the same way.
const compose = parse(composeSource, { merge: true }) as Compose;

function service(name: string): Service {
  const found = compose.services[name];
  assert.ok(found, `service ${name} is defined`);
  return found;
}

function networksOf(name: string): string[] {
  const networks = service(name).networks ?? ['default'];
  return Array.isArray(networks) ? networks : Object.keys(networks);
}

function secretsOf(name: string): string[] {
  return (service(name).secrets ?? []).map((entry) => (typeof entry === 'string' ? entry : entry.source));
}

function longRunning(): string[] {
  return Object.keys(compose.services).filter((name) => !ONE_SHOT.has(name));
}

function composeSchema(): Yaml {
  // dclint ships the Compose Specification's JSON schema but does not export its path.
  const require = createRequire(import.meta.url);
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  // It names draft-07 by its https address, which Ajv knows by http; draft-07 is Ajv's default.
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Yaml;
  return schema;
}

/** A command as the container gets it: Compose turns `$$` into `$`. */
function asRun(command: string[] | string | undefined): string {
  return [command ?? []].flat().join(' ').replaceAll('$$', '$');
}

function secretFileNames(): string[] {
  return execFileSync('bash', [makeSecrets, '--list'], { encoding: 'utf8' }).trim().split('\n');
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(composeSchema());
    const valid = validate(compose);
    assert.equal(valid, true, ajv.errorsText(validate.errors, { separator: '\n' }));
  });

  it('passes the Compose linter, its style-only ordering rules aside', () => {
    const linter = new DCLinter({
      rules: {
        'service-keys-order': 0,
        'services-alphabetical-order': 0,
        'service-dependencies-alphabetical-order': 0,
        'top-level-properties-order': 0,
      },
      quiet: false,
      debug: false,
      exclude: [],
    });
    const [result] = linter.lintFiles([composePath], false);
    assert.ok(result);
    assert.deepEqual(
      result.messages.map((message: LintMessage) => `${message.line}: ${message.rule}: ${message.message}`),
      [],
    );
  });

  it('runs the three Engram commands and the three stores', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['api', 'chroma', 'migrate', 'postgres', 'redis', 'worker']);
    assert.deepEqual(service('api').command, ['serve']);
    assert.deepEqual(service('worker').command, ['worker']);
    assert.deepEqual(service('migrate').command, ['migrate']);
    assert.equal(service('redis').image?.split(':')[0], 'redis');
    assert.match(service('redis').image ?? '', /^redis:7(\b|$)/);
    assert.match(service('postgres').image ?? '', /^postgres:15(\b|$)/);
    assert.match(service('chroma').image ?? '', /^chromadb\/chroma:1\.0\.\d+$/);
  });

  describe('networks', () => {
    it('keeps the stores network internal', () => {
      assert.equal(compose.networks['stores']?.internal, true);
    });

    it('puts every store on the internal network only', () => {
      for (const store of STORES) assert.deepEqual(networksOf(store), ['stores'], store);
    });

    it('gives only the api a network to the outside', () => {
      for (const name of Object.keys(compose.services)) {
        const external = networksOf(name).filter((network) => compose.networks[network]?.internal !== true);
        assert.deepEqual(external, name === 'api' ? ['public'] : [], name);
      }
    });

    it('lets the Engram services reach the stores', () => {
      for (const name of ENGRAM_SERVICES) assert.ok(networksOf(name).includes('stores'), name);
    });
  });

  describe('ports', () => {
    it('publishes one port, the api on 8080, bound to an explicit interface', () => {
      const published = Object.entries(compose.services).filter(([, s]) => (s.ports ?? []).length > 0);
      assert.deepEqual(
        published.map(([name]) => name),
        ['api'],
      );
      assert.deepEqual(service('api').ports, [
        { target: 8080, published: '8080', host_ip: '${ENGRAM_PUBLISH_ADDRESS:-127.0.0.1}', protocol: 'tcp' },
      ]);
    });

    it('publishes no port of a store', () => {
      for (const store of STORES) {
        assert.equal(service(store).ports, undefined, store);
      }
    });

    it('names no container, so that workers can be scaled', () => {
      for (const [name, s] of Object.entries(compose.services)) assert.equal(s.container_name, undefined, name);
    });
  });

  describe('secrets', () => {
    it('declares every secret as a file that make-secrets.sh writes into deploy/secrets/', () => {
      const written = new Set(secretFileNames());
      for (const [name, secret] of Object.entries(compose.secrets)) {
        assert.equal(secret.file, `./deploy/secrets/${name}`, name);
        assert.ok(written.has(name), `make-secrets.sh writes ${name}`);
      }
    });

    it('gives each service only secrets that are declared', () => {
      for (const name of Object.keys(compose.services)) {
        for (const secret of secretsOf(name)) assert.ok(compose.secrets[secret], `${name} uses ${secret}`);
      }
    });

    it('never puts a credential into an environment variable, only the path of its secret file', () => {
      for (const [name, s] of Object.entries(compose.services)) {
        const environment = s.environment ?? {};
        for (const variable of SECRET_VARIABLES) {
          assert.equal(environment[variable], undefined, `${name} sets ${variable} in clear`);
          const file = environment[`${variable}_FILE`];
          if (file === undefined) continue;
          const secret = String(file).replace(/^\/run\/secrets\//, '');
          assert.equal(file, `/run/secrets/${secret}`, `${name} reads ${variable} from a secret`);
          assert.ok(secretsOf(name).includes(secret), `${name} mounts ${secret}`);
        }
        for (const [variable, value] of Object.entries(environment)) {
          assert.doesNotMatch(String(value), /:\/\/[^/@\s]*:[^/@\s]+@/, `${name}.${variable} carries no password`);
        }
      }
    });

    it('hands the database and queue URLs to the Engram services from secret files', () => {
      for (const name of ['api', 'worker'] as const) {
        const environment = service(name).environment ?? {};
        assert.equal(environment['DATABASE_URL_FILE'], '/run/secrets/database_url', name);
        assert.equal(environment['REDIS_URL_FILE'], '/run/secrets/redis_url', name);
        assert.equal(environment['CHROMA_URL'], 'http://chroma:8000', name);
        assert.ok(secretsOf(name).includes('postgres_ca_crt'), `${name} can verify the Postgres certificate`);
      }
      assert.equal(service('migrate').environment?.['DATABASE_URL_FILE'], '/run/secrets/database_url');
      assert.equal(service('api').environment?.['ENGRAM_API_KEY_FILE'], '/run/secrets/engram_api_key');
    });

    it('starts Redis with the password from its secret file', () => {
      const command = asRun(service('redis').command);
      assert.match(command, /requirepass \$\(cat \/run\/secrets\/redis_password\)/);
      assert.match(command, /appendonly yes/);
      assert.ok(secretsOf('redis').includes('redis_password'));
    });

    it("keeps Redis's memory under the container's limit, refusing new jobs when full rather than dropping any", () => {
      const command = asRun(service('redis').command);
      assert.match(command, /maxmemory-policy noeviction/);
      const maxmemory = /maxmemory (\d+)mb/.exec(command)?.[1];
      const limit = /^(\d+)m$/.exec(String(service('redis').deploy?.resources?.limits?.memory ?? ''))?.[1];
      assert.ok(maxmemory !== undefined && limit !== undefined, 'maxmemory and the container limit in MiB');
      assert.ok(Number(maxmemory) <= Number(limit) * 0.8, `maxmemory ${maxmemory} MiB under a limit of ${limit} MiB`);
    });

    it('starts Postgres with its password file and TLS from the certificate secrets', () => {
      const postgres = service('postgres');
      assert.equal(postgres.environment?.['POSTGRES_PASSWORD_FILE'], '/run/secrets/postgres_password');
      const command = asRun(postgres.command);
      assert.match(command, /-c ssl=on/);
      assert.match(command, /ssl_cert_file=\/run\/secrets\/postgres_server_crt/);
      assert.match(command, /install -m 0600 -o postgres -g postgres \/run\/secrets\/postgres_server_key/);
      assert.match(command, /hba_file=\/etc\/postgresql\/pg_hba.conf/);
      assert.deepEqual(secretsOf('postgres').sort(), ['postgres_password', 'postgres_server_crt', 'postgres_server_key']);
    });

    it('refuses clear-text connections to Postgres in its pg_hba.conf', () => {
      const hbaFile = compose.configs?.['postgres_hba']?.file ?? '';
      const rules = readFileSync(join(root, hbaFile), 'utf8')
        .split('\n')
        .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
        .filter((fields) => fields[0] !== '');
      const network = rules.filter((fields) => fields[0] !== 'local');
      assert.deepEqual(network, [
        ['hostnossl', 'all', 'all', 'all', 'reject'],
        ['hostssl', 'all', 'all', 'all', 'scram-sha-256'],
      ]);
    });
  });

  describe('chroma', () => {
    const chroma = (): Service => service('chroma');
    const mounted = (): Yaml => {
      const config = chroma().configs?.find((entry) => entry.target === '/config.yaml');
      assert.ok(config, 'a configuration is mounted over the image’s /config.yaml');
      return parse(readFileSync(join(root, compose.configs?.[config.source]?.file ?? ''), 'utf8')) as Yaml;
    };

    it('keeps its files in its volume and listens where CHROMA_URL points', () => {
      const config = mounted();
      assert.ok(chroma().volumes?.includes(`chroma-data:${String(config['persist_path'])}`));
      assert.equal(config['port'], Number(new URL(String(service('api').environment?.['CHROMA_URL'])).port));
    });

    it('sets the allocator of glibc as the Chroma that Engram runs itself has it', () => {
      assert.equal(chroma().environment?.['GLIBC_TUNABLES'], MALLOC_TUNABLES);
    });

    it('caches collection descriptions as the Chroma that Engram runs itself does', () => {
      const embedded = parse(collectionCacheSection().join('\n')) as Yaml;
      assert.deepEqual(mounted()['collections_with_segments_provider'], embedded['collections_with_segments_provider']);
    });
  });

  describe('start order and health', () => {
    it('has api and worker wait for the migrations to succeed', () => {
      for (const name of ['api', 'worker']) {
        assert.equal(service(name).depends_on?.['migrate']?.condition, 'service_completed_successfully', name);
      }
      assert.equal(service('migrate').depends_on?.['postgres']?.condition, 'service_healthy');
      assert.equal(service('migrate').restart, 'no');
    });

    it('has every long-running service check its health', () => {
      for (const name of longRunning()) {
        const healthcheck = service(name).healthcheck;
        assert.ok(healthcheck?.test, `${name} has a healthcheck`);
        assert.notEqual(healthcheck.disable, true, name);
      }
    });

    it('checks each store with a tool that its image has', () => {
      const test = (name: string): string => asRun(service(name).healthcheck?.test);
      assert.match(test('postgres'), /pg_isready/);
      assert.match(test('redis'), /REDISCLI_AUTH="\$\(cat \/run\/secrets\/redis_password\)" redis-cli ping/);
      assert.match(test('chroma'), /^CMD bash -c .*\/dev\/tcp\/127\.0\.0\.1\/8000.*\/api\/v2\/heartbeat/);
      assert.match(test('api'), /^CMD node -e .*\/healthz/);
    });

    it('has the Engram services wait for healthy stores', () => {
      for (const name of ['api', 'worker']) {
        for (const store of STORES) assert.equal(service(name).depends_on?.[store]?.condition, 'service_healthy');
      }
    });

    it('restarts every long-running service unless it was stopped', () => {
      for (const name of longRunning()) assert.equal(service(name).restart, 'unless-stopped', name);
    });
  });

  it('interpolates no variable but the publish address: every other $ is escaped for the shell', () => {
    const unescaped = composeSource.replaceAll('$$', '').match(/\$\{?[A-Za-z_][A-Za-z0-9_]*(:?-[^}]*)?\}?/g) ?? [];
    assert.deepEqual(unescaped, ['${ENGRAM_PUBLISH_ADDRESS:-127.0.0.1}']);
  });
});

describe('deploy/make-secrets.sh', () => {
  let dir = '';
  const read = (name: string): string => readFileSync(join(dir, 'secrets', name), 'utf8');

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'engram-secrets-'));
    execFileSync('bash', [makeSecrets, join(dir, 'secrets')], { stdio: 'pipe' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is valid bash', () => {
    assert.doesNotThrow(() => execFileSync('bash', ['-n', makeSecrets]));
  });

  it('writes every file it lists, and nothing is empty', () => {
    for (const name of secretFileNames()) {
      assert.ok(existsSync(join(dir, 'secrets', name)), name);
      assert.ok(read(name).length > 0, `${name} is not empty`);
    }
  });

  it('keeps the secrets folder private to its owner', () => {
    assert.equal(statSync(join(dir, 'secrets')).mode & 0o777, 0o700);
  });

  it('writes URLs that carry the generated passwords and ask for verified TLS', () => {
    const database = new URL(read('database_url'));
    assert.equal(database.hostname, 'postgres');
    assert.equal(database.password, read('postgres_password'));
    assert.equal(database.searchParams.get('sslmode'), 'verify-full');
    assert.equal(database.searchParams.get('sslrootcert'), '/run/secrets/postgres_ca_crt');
    const redis = new URL(read('redis_url'));
    assert.equal(redis.hostname, 'redis');
    assert.equal(redis.password, read('redis_password'));
  });

  it('makes passwords long and different from each other', () => {
    assert.match(read('redis_password'), /^[0-9a-f]{64}$/);
    assert.match(read('postgres_password'), /^[0-9a-f]{64}$/);
    assert.notEqual(read('redis_password'), read('postgres_password'));
    assert.ok(read('engram_api_key').length >= 32);
  });

  it('issues a server certificate for the host "postgres", signed by the CA it writes', () => {
    const ca = new X509Certificate(read('postgres_ca_crt'));
    const server = new X509Certificate(read('postgres_server_crt'));
    assert.equal(ca.ca, true);
    assert.equal(server.ca, false);
    assert.equal(server.verify(ca.publicKey), true);
    assert.equal(server.checkHost('postgres'), 'postgres');
    assert.equal(server.checkPrivateKey(createPrivateKey(read('postgres_server_key'))), true);
  });

  it('refuses to overwrite existing secrets', () => {
    assert.throws(() => execFileSync('bash', [makeSecrets, join(dir, 'secrets')], { stdio: 'pipe' }));
  });

  it('writes into a folder that git ignores', () => {
    const ignored = readFileSync(join(root, '.gitignore'), 'utf8').split('\n');
    assert.ok(ignored.includes('/deploy/secrets/'));
  });
});
