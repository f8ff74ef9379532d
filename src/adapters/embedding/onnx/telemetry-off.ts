/**
 * ONNX Runtime (1.29 and later, on Linux and macOS) reports its use to its vendor unless
 * `ORT_DISABLE_TELEMETRY=1` is in the process's environment when it starts: it sends events over
 * HTTPS, and leaves a device id and an event cache in `~/.cache/Microsoft/DeveloperTools/` and a log
 * and a session file in the temporary folder, for every process. Engram keeps what it runs on to
 * itself, so it sets the variable unless the operator has set it (to 0, say, to let the runtime
 * report). Only the main thread's environment reaches the native library (a worker thread's
 * `process.env` is a copy), so this runs there before a model thread starts or the model loads.
 */
export function turnOffOnnxRuntimeTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  env['ORT_DISABLE_TELEMETRY'] ??= '1';
}
