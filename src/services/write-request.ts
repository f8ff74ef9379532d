import type { Metadata, Role } from '../domain/memory.js';

/** A memory as a client submits it, after schema validation. */
export interface WriteRequest {
  readonly id?: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly text: string;
  readonly role?: Role;
  readonly metadata?: Metadata;
  readonly createdAt?: Date;
}

export interface AcceptedWrite {
  readonly id: string;
  readonly taskId: string;
}
