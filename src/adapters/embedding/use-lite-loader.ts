import { turnOffOnnxRuntimeTelemetry } from './onnx/telemetry-off.js';
import { USE_LITE_MAX_TEXT_CHARS, type UseLiteModel, type UseLiteModelOptions } from './use-lite-model.js';

/**
 * Loads the bundled model on the runtime asked for, to run on the calling thread. Each runtime is
 * imported only when chosen: ONNX Runtime is a native library and TF.js a large script.
 */
export async function loadUseLiteModel(options: UseLiteModelOptions): Promise<UseLiteModel> {
  const maxTextChars = options.maxTextChars ?? USE_LITE_MAX_TEXT_CHARS;
  if (options.runtime === 'onnx' || options.runtime === 'onnx-int8') {
    // Effective on the main thread; a model thread's pool has done it for the thread.
    turnOffOnnxRuntimeTelemetry();
    const { loadUseLiteOnnxModel } = await import('./onnx/use-lite-onnx-model.js');
    return loadUseLiteOnnxModel({ maxTextChars, int8: options.runtime === 'onnx-int8' });
  }
  const { loadUseLiteTfjsModel } = await import('./use-lite-tfjs-model.js');
  return loadUseLiteTfjsModel({ maxTextChars });
}
