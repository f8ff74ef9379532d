import type { Migration } from './migration.js';

export const initial: Migration = {
  version: 1,
  name: 'initial',
  statements: [
    `CREATE TABLE api_keys (
       id text PRIMARY KEY,
       tenant_id text NOT NULL,
       name text,
       secret_hash bytea NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       last_used_at timestamptz,
       revoked_at timestamptz
     )`,

    // One global write order shared by accepted tasks, deletes and erasures: whichever has the
    // higher number happened later and wins.
    `CREATE SEQUENCE write_seq`,

    `CREATE TABLE write_tasks (
       task_id uuid PRIMARY KEY,
       tenant_id text NOT NULL,
       memory_id text NOT NULL,
       user_id text NOT NULL,
       seq bigint NOT NULL DEFAULT nextval('write_seq'),
       status text NOT NULL DEFAULT 'queued'
         CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
       attempts integer NOT NULL DEFAULT 0,
       error_code text,
       error_message text,
       draft jsonb,
       idempotency_key text,
       created_at timestamptz NOT NULL DEFAULT now(),
       updated_at timestamptz NOT NULL DEFAULT now(),
       CONSTRAINT write_tasks_idempotency UNIQUE (tenant_id, idempotency_key),
       -- the text of a finished write lives in memories only
       CONSTRAINT write_tasks_draft_until_finished
         CHECK ((status IN ('completed', 'failed')) = (draft IS NULL))
     )`,
    `CREATE INDEX write_tasks_pending ON write_tasks (updated_at) WHERE status IN ('queued', 'processing')`,

    `CREATE TABLE memories (
       tenant_id text NOT NULL,
       id text NOT NULL,
       -- fixed at the first insert: orders turns with equal created_at in history
       ordinal bigint GENERATED ALWAYS AS IDENTITY,
       user_id text NOT NULL,
       session_id text NOT NULL,
       role text NOT NULL,
       text text,
       embedding bytea,
       metadata jsonb,
       created_at timestamptz NOT NULL,
       updated_at timestamptz NOT NULL,
       version bigint NOT NULL,
       deleted boolean NOT NULL DEFAULT false,
       PRIMARY KEY (tenant_id, id),
       -- a tombstone keeps only what decides which write wins
       CONSTRAINT memories_live_has_content
         CHECK (deleted OR (text IS NOT NULL AND embedding IS NOT NULL AND metadata IS NOT NULL))
     )`,
    `CREATE INDEX memories_history ON memories (tenant_id, session_id, created_at, ordinal) WHERE NOT deleted`,
    `CREATE INDEX memories_by_user ON memories (tenant_id, user_id) WHERE NOT deleted`,

    `CREATE TABLE user_erasures (
       tenant_id text NOT NULL,
       user_id text NOT NULL,
       version bigint NOT NULL,
       erased_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (tenant_id, user_id)
     )`,

    `CREATE TABLE engram_settings (
       key text PRIMARY KEY,
       value jsonb NOT NULL
     )`,
  ],
};
