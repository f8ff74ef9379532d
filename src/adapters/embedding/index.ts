export { EmbedderBadResponseError, EmbedderMisconfiguredError, EmbedderRejectedError } from './errors.js';
export { createOpenAiEmbedder, type OpenAiEmbedderOptions } from './openai-embedder.js';
export { withQueryCache, type QueryCacheOptions } from './query-cache.js';
export { createUseLiteEmbedder, type UseLiteEmbedderOptions } from './use-lite-embedder.js';
export { USE_LITE_DIMENSIONS, USE_LITE_MAX_TEXT_CHARS } from './use-lite-model.js';
