/** One key for a user of one tenant, in a map of what this process knows of users. */
export function userKey(tenantId: string, userId: string): string {
  return JSON.stringify([tenantId, userId]);
}
