export { ChromaVectorStore, createChromaVectorStore, type ChromaVectorStoreOptions } from './chroma-vector-store.js';
export { startChromaProcess, type ChromaProcess, type ChromaProcessOptions } from './chroma-process.js';
export { ChromaStartFailedError, VectorStoreError } from './errors.js';
