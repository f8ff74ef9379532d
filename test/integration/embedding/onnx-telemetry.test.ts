import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const FIXTURE = join(process.cwd(), 'test', 'integration', 'fixtures', 'embed-once.ts');

/** Runs the fixture with only these variables in its environment; its exit code and output. */
function embedOnce(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('ONNX Runtime telemetry', () => {
  it('is off unless the operator turns it on: no device id, event cache or log is left behind', async () => {
    // With telemetry on, a process that runs the model leaves .cache/Microsoft/DeveloperTools/
    // .onnxruntime/{deviceid,onnxruntime.db} in its home, and mat-debug-<pid>.log and .ses in its
    // temporary folder (ONNX Runtime 1.30 on Linux).
    const home = await mkdtemp(join(tmpdir(), 'engram-home-'));
    const temporary = await mkdtemp(join(tmpdir(), 'engram-tmp-'));
    try {
      const result = await embedOnce({ PATH: process.env['PATH'] ?? '', HOME: home, TMPDIR: temporary });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), '512');
      assert.deepEqual(await readdir(home, { recursive: true }), []);
      assert.deepEqual((await readdir(temporary)).filter((name) => name.startsWith('mat-debug-') || name === '.ses'), []);
    } finally {
      await rm(home, { recursive: true, force: true });
      await rm(temporary, { recursive: true, force: true });
    }
  });
});
