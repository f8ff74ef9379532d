import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './free-port.js';

const CLI = join(process.cwd(), 'src', 'main', 'cli.ts');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A TypeScript script in a child process whose environment is PATH, HOME and `env` alone. */
function scriptProcess(script: string, args: readonly string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `engram <args>` to completion, feeding `stdin`. */
export function runCli(args: readonly string[], env: Record<string, string>, stdin = ''): Promise<CliResult> {
  return runScript(CLI, args, env, stdin);
}

/** Runs a TypeScript script to completion (see scriptProcess), feeding `stdin`. */
export function runScript(script: string, args: readonly string[], env: Record<string, string>, stdin = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = scriptProcess(script, args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(stdin);
  });
}

/** A long-running `engram start|serve|worker` child, with its combined output kept for assertions. */
export class CliServer {
  output = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: readonly string[], env: Record<string, string>) {
    this.child = scriptProcess(CLI, args, env);
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async waitHealthy(url: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => (await fetch(`${url}/healthz`)).ok, timeoutMs, `engram at ${url}\n${this.output}`);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Sends SIGTERM and waits for the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    return this.exited;
  }
}
