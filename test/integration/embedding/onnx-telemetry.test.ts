import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runScript } from '../../support/cli.js';

const FIXTURE = join(process.cwd(), 'test', 'integration', 'fixtures', 'embed-once.ts');

describe('ONNX Runtime telemetry', () => {
  it('is off unless the operator turns it on: no device id, event cache or log is left behind', async () => {
    // With telemetry on, a process that runs the model leaves .cache/Microsoft/DeveloperTools/
    // .onnxruntime/{deviceid,onnxruntime.db} in its home, and mat-debug-<pid>.log and .ses in its
    // temporary folder (ONNX Runtime 1.30 on Linux).
    const home = await mkdtemp(join(tmpdir(), 'engram-home-'));
    const temporary = await mkdtemp(join(tmpdir(), 'engram-tmp-'));
    try {
      const result = await runScript(FIXTURE, [], { HOME: home, TMPDIR: temporary });
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
