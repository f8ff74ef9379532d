export const DEFAULT_TENANT = 'default';

export interface ApiKeyRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

/** Who is calling: every service call is scoped to this tenant. */
export interface Principal {
  readonly tenantId: string;
  readonly keyId: string;
}
