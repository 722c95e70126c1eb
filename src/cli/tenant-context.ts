/**
 * Who a tenant command acts for (--tenant) and signs as: the tenant's owner
 * (--key, --iss defaulting to --tenant) or a toolstack (--iss tsk_…), which
 * then asks for exactly the scopes the command needs.
 */
import type { Command } from 'commander';
import { createApiClient, type ApiClient } from '../sdk/client';
import { baseUrl, localAdminIdOf, commaList, readJwk, UsageError, type GlobalOptions } from './context';

/** Who a tenant command acts for (--tenant) and, for a toolstack, which VMs its tokens name (--vms). */
export interface TenantOptions extends GlobalOptions {
  tenant: string;
  vms?: string[];
}

/** Adds the options every tenant command takes. */
export const tenantOptions = (command: Command): Command =>
  command
    .requiredOption('--tenant <id>', 'the tenant (signs as its owner unless --iss names a toolstack)')
    .option('--vms <ids>', 'a toolstack token limited to these VMs (comma-separated)', commaList);

/**
 * A client signing as the tenant's owner or, with `--iss tsk_…`, as a
 * toolstack asking for exactly `scopes` (an owner holds every scope).
 */
export function tenantClient(o: TenantOptions, scopes: string[]): ApiClient {
  const keyPath = o.key ?? process.env.CUSTODES_KEY;
  if (!keyPath) throw new UsageError("--key is required: the tenant owner's key, or a toolstack's with --iss tsk_….");
  // A local admin's key (.custodes/admin.jwk) signs as that admin — its attempt is then the tenant's to see.
  const principal = o.iss ?? localAdminIdOf(keyPath) ?? o.tenant;
  const toolstack = principal.startsWith('tsk_');
  return createApiClient({
    baseUrl: baseUrl(o),
    key: readJwk(keyPath, 'Key file'),
    principal,
    session: o.sid,
    ...(o.aud ? { audience: o.aud } : {}),
    ...(toolstack ? { scope: scopes, ...(o.vms ? { vms: o.vms } : {}) } : {}),
  });
}
