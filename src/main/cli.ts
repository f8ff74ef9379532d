#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { checkDistributed, loadConfig } from '../config/load-config.js';
import { isDomainError } from '../domain/errors.js';
import { createKey, doctor, listKeys, migrate, redactStdin, revokeKey, runUntilSignalled, type Output } from './commands.js';
import { createLogger } from './logger.js';

const USAGE = `usage: engram <command>

  start                       API and worker in one process (embedded stores unless URLs are set)
  serve                       the HTTP API only
  worker                      the write worker only
  migrate                     apply database migrations
  keys create --tenant T [--name N]
  keys list
  keys revoke ID
  redact [--json]             redact stdin, one document per line
  doctor [--fix] [--json]     compare Postgres and Chroma per user; --fix repairs missing and orphan vectors

Configuration comes from the environment: see the README.`;

const out: Output = (line) => {
  process.stdout.write(`${line}\n`);
};

// A reader that goes away (`engram redact | head -1`) ends the output, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

/** A command line parseArgs refuses: an unknown option, or one without its value. */
function isUsageError(error: unknown): error is Error {
  return error instanceof Error && String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_');
}

/** An error of the system (a port in use, a host not found): its message says all there is. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

function fail(message: string, code: number): never {
  process.stderr.write(`engram: ${message}\n`);
  process.exit(code);
}

async function main(argv: readonly string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean', default: false },
      fix: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, subcommand, argument] = positionals;
  if (values.help || command === undefined) {
    out(USAGE);
    return;
  }
  const config = loadConfig(process.env);
  // Commands that print results log to stderr, and only when something goes wrong.
  const service = ['start', 'serve', 'worker'].includes(command);
  const logger = service ? createLogger(config.logLevel) : createLogger('warn', 'stderr');

  switch (command) {
    case 'start':
      return runUntilSignalled(config, { api: true, worker: true }, logger);
    case 'serve':
      checkDistributed(config, 'serve');
      return runUntilSignalled(config, { api: true, worker: false }, logger);
    case 'worker':
      checkDistributed(config, 'worker');
      return runUntilSignalled(config, { api: false, worker: true }, logger);
    case 'migrate':
      return migrate(config, logger);
    case 'redact':
      return redactStdin(config, values.json, out);
    case 'doctor':
      return doctor(config, logger, values.fix, values.json, out);
    case 'keys':
      if (subcommand === 'create') {
        if (values.tenant === undefined) fail('keys create needs --tenant T', 2);
        return createKey(config, logger, values.tenant, values.name ?? null, out);
      }
      if (subcommand === 'list') return listKeys(config, logger, out);
      if (subcommand === 'revoke' && argument !== undefined) return revokeKey(config, logger, argument, out);
      fail(`keys needs create, list or revoke ID\n\n${USAGE}`, 2);
      break;
    default:
      fail(`unknown command "${command}"\n\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2)).then(
  // Open handles of libraries must not keep a finished command alive.
  () => process.exit(0),
  (error: unknown) => {
    if (isDomainError(error)) {
      // An outage's cause (a refused connection, an untrusted certificate) is what an operator needs.
      const cause = error.kind === 'unavailable' && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      fail(`${error.message}${cause}`, error.code === 'invalid_config' ? 2 : 1);
    }
    if (isUsageError(error)) fail(`${error.message}\n\n${USAGE}`, 2);
    if (isSystemError(error)) fail(error.message, 1);
    fail(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
  },
);
