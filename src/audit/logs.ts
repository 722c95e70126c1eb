/** Log names and origins (DESIGN §5, §8). */
export const PROVIDER_LOG = 'provider';
export const tenantLog = (tenantId: string): string => `tenants/${tenantId}`;
export const logOrigin = (log: string): string => `custodes/${log}`;
