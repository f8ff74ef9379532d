export interface EmbeddingModelInfo {
  /** Stable identity of the model that makes the vectors, e.g. `use-lite@0.2.0`. */
  readonly id: string;
  readonly dimensions: number;
}

export interface Embedder {
  readonly model: EmbeddingModelInfo;
  /**
   * Embeds the texts in order. Vectors are L2-normalised, so cosine similarity is a dot product.
   * Throws DependencyUnavailableError when a remote model cannot be reached.
   */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}
