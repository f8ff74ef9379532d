import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { MALLOC_TUNABLES } from '../../src/config/malloc-tunables.js';
import { freePort } from '../support/free-port.js';

const root = process.cwd();
const source = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(source);
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
const run = promisify(execFile);

interface Stage {
  readonly name: string | null;
  readonly image: string;
  readonly instructions: Instruction[];
}

function stages(): Stage[] {
  const result: { name: string | null; image: string; instructions: Instruction[] }[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const [image = '', as, name = null] = instruction.getArguments().map((argument) => argument.getValue());
      result.push({ name: as?.toUpperCase() === 'AS' ? name : null, image, instructions: [] });
    } else {
      result.at(-1)?.instructions.push(instruction);
    }
  }
  return result;
}

const allStages = stages();
const finalStage = allStages.at(-1);
assert.ok(finalStage, 'the Dockerfile has a stage');

function inFinal(keyword: string): Instruction[] {
  return (finalStage?.instructions ?? []).filter((instruction) => instruction.getKeyword() === keyword);
}

/** The variables the final stage's ENV instructions set, by name. */
function finalEnv(): Map<string, string | null> {
  return new Map(inFinal('ENV').flatMap((i) => (i as Instruction & EnvLike).getProperties().map((p) => [p.getName(), p.getValue()])));
}

function words(instruction: Instruction): string[] {
  return instruction.getArguments().map((argument) => argument.getValue());
}

/** The exec form (`["a", "b"]`) of an instruction, after `skip` leading words such as HEALTHCHECK's CMD. */
function execForm(instruction: Instruction, skip = ''): string[] {
  const content = (instruction.getArgumentsContent() ?? '').trim();
  const json = skip === '' ? content : content.slice(content.indexOf(skip) + skip.length).trim();
  const parsed: unknown = JSON.parse(json);
  assert.ok(Array.isArray(parsed) && parsed.every((part) => typeof part === 'string'), `${json} is an exec form`);
  return parsed as string[];
}

/** The stage that a `COPY --from=` takes its files from, if any. */
function copiedFrom(instruction: Instruction): string | undefined {
  if (!(instruction instanceof Copy)) return undefined;
  return instruction.getFromFlag()?.getValue() ?? undefined;
}

function lastOf(keyword: string): Instruction {
  const found = inFinal(keyword).at(-1);
  assert.ok(found, `the final stage has ${keyword}`);
  return found;
}

describe('Dockerfile', () => {
  it('has no problem that the Dockerfile validator reports', () => {
    const problems = validate(source).map((problem) => `${problem.range.start.line + 1}: ${problem.message}`);
    assert.deepEqual(problems, []);
  });

  it('builds in several stages, all on Node 20 with glibc (Debian 12 slim)', () => {
    assert.ok(allStages.length >= 2, 'at least two FROM');
    for (const stage of allStages) assert.equal(stage.image, 'node:20-bookworm-slim');
  });

  it('compiles the sources in a build stage with the lock file', () => {
    const build = allStages.find((stage) => stage.name === 'build');
    assert.ok(build, 'a stage named build');
    const commands = build.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => words(i).join(' '));
    assert.ok(commands.some((command) => /\bnpm ci\b/.test(command)));
    assert.ok(commands.some((command) => /\bnpm run build\b/.test(command)));
  });

  it('copies the package manifests before the sources, so the dependency layer stays cached', () => {
    for (const stage of allStages) {
      const keywords = stage.instructions.map((i) => `${i.getKeyword()} ${words(i).join(' ')}`);
      const manifests = keywords.findIndex((line) => line.startsWith('COPY package.json package-lock.json'));
      const install = keywords.findIndex((line) => line.startsWith('RUN npm ci'));
      const sources = keywords.findIndex((line) => line.startsWith('COPY src'));
      if (install === -1) continue;
      assert.ok(manifests !== -1 && manifests < install, `${stage.name}: manifests before npm ci`);
      if (sources !== -1) assert.ok(install < sources, `${stage.name}: npm ci before the sources`);
    }
  });

  it('ships production dependencies only, installed without lifecycle scripts', () => {
    const installs = allStages
      .flatMap((stage) => stage.instructions.filter((i) => i.getKeyword() === 'RUN'))
      .map((i) => words(i).join(' '))
      .filter((command) => command.includes('npm ci'));
    const production = installs.filter((command) => command.includes('--omit=dev'));
    assert.equal(production.length, 1);
    assert.match(production[0] ?? '', /--ignore-scripts/);
    const modules = inFinal('COPY').filter((i) => words(i)[0]?.endsWith('node_modules'));
    assert.equal(modules.length, 1);
    const fromStage = modules[0] === undefined ? undefined : copiedFrom(modules[0]);
    const deps = allStages.find((stage) => stage.name === fromStage);
    assert.ok(deps, `node_modules comes from stage ${String(fromStage)}`);
    assert.ok(
      deps.instructions.some((i) => i.getKeyword() === 'RUN' && words(i).join(' ').includes('--omit=dev')),
      'that stage installs with --omit=dev',
    );
  });

  it('runs as a user that is not root', () => {
    const user = words(lastOf('USER'))[0] ?? '';
    assert.doesNotMatch(user, /^(root|0)(:|$)/);
  });

  it('listens on all interfaces of the container, on port 8080, in production mode', () => {
    const env = finalEnv();
    assert.equal(env.get('NODE_ENV'), 'production');
    assert.equal(env.get('HOST'), '0.0.0.0');
    assert.deepEqual(words(lastOf('EXPOSE')), ['8080']);
  });

  it('starts Engram with the allocator of glibc set as `npm start` and the Chroma that Engram runs have it', () => {
    const env = finalEnv();
    assert.equal(env.get('GLIBC_TUNABLES'), MALLOC_TUNABLES);
    assert.equal(packageJson.scripts['start'], `GLIBC_TUNABLES=\${GLIBC_TUNABLES:-${MALLOC_TUNABLES}} exec node dist/main/cli.js start`);
  });

  it('keeps secrets out of ENV and ARG', () => {
    const names = dockerfile
      .getInstructions()
      .filter((i) => i.getKeyword() === 'ENV' || i.getKeyword() === 'ARG')
      .flatMap((i) => (i as Instruction & EnvLike).getProperties().map((p) => p.getName()));
    for (const name of names) {
      assert.doesNotMatch(name, /PASSWORD|SECRET|TOKEN|API_KEY|_URL$|CREDENTIAL/i, `${name} is not a secret`);
    }
  });

  it('copies only paths that exist in the repository or come from an earlier stage', () => {
    const stageNames = new Set(allStages.map((stage) => stage.name));
    for (const copy of dockerfile.getInstructions().filter((i) => i.getKeyword() === 'COPY')) {
      const from = copiedFrom(copy);
      const sources = words(copy).slice(0, -1);
      if (from !== undefined) {
        assert.ok(stageNames.has(from), `COPY --from=${from} names a stage`);
        continue;
      }
      for (const path of sources) assert.ok(existsSync(join(root, path)), `${path} exists`);
    }
  });

  it('keeps the copied paths in the build context (.dockerignore leaves them in)', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('!'));
    const copied = dockerfile
      .getInstructions()
      .filter((i) => i.getKeyword() === 'COPY' && copiedFrom(i) === undefined)
      .flatMap((i) => words(i).slice(0, -1));
    for (const path of copied) assert.ok(!ignored.includes(path), `${path} is not ignored`);
    for (const secret of ['deploy', '.env', '.git', 'node_modules']) assert.ok(ignored.includes(secret), secret);
  });

  it('starts the engram bin of package.json, `serve` by default', () => {
    const workdir = words(lastOf('WORKDIR'))[0] ?? '';
    const [node, script] = execForm(lastOf('ENTRYPOINT'));
    assert.equal(node, 'node');
    assert.equal(script, posix.join(workdir, packageJson.bin['engram'] ?? 'missing bin'));
    assert.deepEqual(execForm(lastOf('CMD')), ['serve']);
  });

  describe('HEALTHCHECK', () => {
    const command = (): string[] => execForm(lastOf('HEALTHCHECK'), 'CMD');

    it('asks /healthz with node, which the slim image has', () => {
      const [program, flag, script] = command();
      assert.equal(program, 'node');
      assert.equal(flag, '-e');
      assert.match(script ?? '', /\/healthz/);
    });

    async function checkAgainst(status: number): Promise<number> {
      const port = await freePort();
      const server = createServer((request, response) => {
        response.statusCode = request.url === '/healthz' ? status : 404;
        response.end();
      });
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      try {
        const [, ...args] = command();
        await run(process.execPath, args, { env: { ...process.env, PORT: String(port) }, timeout: 10_000 });
        return 0;
      } catch (error) {
        return (error as { code?: number }).code ?? -1;
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }

    it('succeeds when the API answers /healthz with 200', async () => {
      assert.equal(await checkAgainst(200), 0);
    });

    it('fails when the API answers /healthz with an error', async () => {
      assert.equal(await checkAgainst(503), 1);
    });
  });
});

/** ENV and ARG instructions of dockerfile-ast carry name/value properties. */
interface EnvLike {
  getProperties(): { getName(): string; getValue(): string | null }[];
}
