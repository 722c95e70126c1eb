/** Admin roles (docs/design.md §2). None of them reaches guest memory or disk contents. */
export const ADMIN_ROLES = ['provisioner', 'operator', 'auditor', 'security'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** Tenant scopes (docs/design.md §2); a toolstack token's scope must be a subset of its ceiling. */
export const TENANT_SCOPES = [
  'vm:read',
  'vm:control',
  'vm:create',
  'memory:read',
  'memory:write',
  'disk:read',
  'disk:write',
  'snapshot',
  'keys',
  'labels',
  'audit:read',
  'recovery',
  // Delegated administration: a toolstack holding it may register, re-scope and revoke toolstacks,
  // never beyond its own ceiling (tenant/toolstacks/toolstacks.service.ts).
  'toolstacks',
] as const;
export type TenantScope = (typeof TENANT_SCOPES)[number];

/** Roles allowed to read provider metadata (hosts, tenants, VM placement). */
export const METADATA_READERS: readonly AdminRole[] = ['provisioner', 'operator', 'auditor'];
