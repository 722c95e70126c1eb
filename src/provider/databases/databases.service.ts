/**
 * How full the provider's D1 databases are (issue 35): a D1 database holds at
 * most 10 GB, a limit that cannot be raised (developers.cloudflare.com/d1/platform/limits/),
 * so an operator needs to see each database's size against it, and what it
 * holds, before it fills. D1 reports a database's size after every query
 * (`meta.size_after`, bytes); one read batch counts the tenants and VMs.
 *
 * Today one database (`DB`) holds the provider's tables and every tenant's;
 * docs/decisions.md "Tenants across D1 databases" says how tenants will move
 * to shards, each of which this list will then show.
 */
import type { Env } from '../../env';

/** D1's size limit per database on Workers Paid, the plan Custodes's Durable Objects need: 10 GB (decimal, as Cloudflare states it; 500 MB on Free). */
export const D1_DATABASE_LIMIT_BYTES = 10 * 1000 ** 3;

export type DatabaseRole = 'provider' | 'tenants';

export interface DatabaseUsage {
  /** The Worker's binding name. */
  binding: string;
  /** What it holds: the provider's tables and log, tenants' rows and logs, or both. */
  holds: DatabaseRole[];
  tenants: number;
  vms: number;
  /** The database's size in bytes, as D1 reports it. */
  sizeBytes: number;
  /** `sizeBytes` ÷ the 10 GB limit. */
  used: number;
}

/** The databases this deployment writes, with what each holds. */
function databasesOf(env: Env): { binding: string; db: D1Database; holds: DatabaseRole[] }[] {
  return [{ binding: 'DB', db: env.DB, holds: ['provider', 'tenants'] }];
}

async function usageOf(binding: string, db: D1Database, holds: DatabaseRole[]): Promise<DatabaseUsage> {
  const [tenants, vms] = await db.batch<{ n: number }>([db.prepare('SELECT count(*) AS n FROM tenants'), db.prepare('SELECT count(*) AS n FROM vms')]);
  const sizeBytes = Math.max(tenants!.meta.size_after ?? 0, vms!.meta.size_after ?? 0);
  return { binding, holds, tenants: tenants!.results[0]!.n, vms: vms!.results[0]!.n, sizeBytes, used: sizeBytes / D1_DATABASE_LIMIT_BYTES };
}

/** Every database's usage, read at once. */
export function databaseUsage(env: Env): Promise<DatabaseUsage[]> {
  return Promise.all(databasesOf(env).map(({ binding, db, holds }) => usageOf(binding, db, holds)));
}
