/** A metadata value that can be stored, filtered on and returned unchanged. */
export type MetadataValue = string | number | boolean;
export type Metadata = Readonly<Record<string, MetadataValue>>;

export const ROLES = ['user', 'assistant', 'system', 'tool'] as const;
export type Role = (typeof ROLES)[number];

/** What a client asks Engram to remember, after validation and (when on) PII redaction. */
export interface MemoryDraft {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly role: Role;
  /** Already redacted when redaction is on: raw text never leaves the accept path. */
  readonly text: string;
  readonly createdAt: Date;
  readonly metadata: Metadata;
}

/** A memory as stored in the metadata store. */
export interface Memory extends MemoryDraft {
  readonly updatedAt: Date;
  /** Monotonic write sequence of the write that produced this version. */
  readonly version: number;
}

export interface EmbeddedMemory extends Memory {
  readonly embedding: Float32Array;
}

/** A memory read to be ranked: its vector only when the caller asked for it, else null. */
export interface CandidateMemory extends Memory {
  readonly embedding: Float32Array | null;
}

/** A search result: a memory and how well it matches the query, in [0, 1] for cosine. */
export interface ScoredMemory {
  readonly memory: Memory;
  readonly score: number;
}
