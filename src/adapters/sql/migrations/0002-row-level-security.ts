import type { Migration } from './migration.js';

/** The role that tenant-scoped statements run as when the connecting user bypasses row security. */
export const SCOPED_ROLE = 'engram_app';

const TENANT_TABLES = ['memories', 'write_tasks', 'user_erasures'] as const;

// A row is visible to the transaction's tenant, or to every worker-side statement that declared
// itself system-wide. Nothing set means nothing visible.
export const TENANT_POLICY = `tenant_id = current_setting('engram.tenant_id', true)
  OR current_setting('engram.scope', true) = 'system'`;

/**
 * Defence in depth: even a statement that forgets `WHERE tenant_id` cannot reach another tenant.
 * Superusers bypass row security, so a NOLOGIN role is made (when this user may create roles) for
 * scoped statements to switch to.
 */
export const rowLevelSecurity: Migration = {
  version: 2,
  name: 'row-level-security',
  statements: [
    ...TENANT_TABLES.flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (${TENANT_POLICY}) WITH CHECK (${TENANT_POLICY})`,
    ]),
    `DO $$
     BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${SCOPED_ROLE}')
          AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
         BEGIN
           CREATE ROLE ${SCOPED_ROLE} NOLOGIN;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN
           -- roles are shared by the cluster's databases: another one may have just made it
           NULL;
         END;
       END IF;
       IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${SCOPED_ROLE}') THEN
         GRANT SELECT, INSERT, UPDATE, DELETE ON ${TENANT_TABLES.join(', ')} TO ${SCOPED_ROLE};
         GRANT USAGE, SELECT, UPDATE ON SEQUENCE write_seq TO ${SCOPED_ROLE};
       END IF;
     END
     $$`,
  ],
};
