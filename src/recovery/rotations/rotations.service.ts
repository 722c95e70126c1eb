/**
 * Recording a rotation after an exposure (the SDK's `rotateDataKeys` does the
 * work: it re-seals, client-side, every current page sealed with a retired
 * key under a new one). Here, in one audited batch: the retired keys' wrapped
 * copies are deleted — so the versions sealed with them, the exposed ones
 * among them, can no longer be opened by anyone holding only the provider's
 * state — and each label is marked rotated, which the exposure report shows.
 */
import { sql } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import type { Database } from '../../platform/db/client';
import { nowIso } from '../../platform/clock';
import { fail, ok, type Result } from '../../lib/result';
import { imaging } from '../objects/object-kinds';

export interface RotationInput {
  labels: string[];
  /** Wrapped keys (`key_…`) to delete: the data keys being retired. */
  retire: string[];
  /** How many pages the client re-sealed (for the record). */
  resealed: number;
}

export interface RotationView {
  tenant: string;
  labels: string[];
  retired: string[];
  rotatedAt: string;
  auditIndex: number;
}

export async function recordRotation(db: Database, commit: Commit, tenant: string, input: RotationInput): Promise<Result<RotationView, 'not_found'>> {
  const labels = [...new Set(input.labels)];
  const retire = [...new Set(input.retire)];
  const known = await db.all<{ name: string }>(
    sql`SELECT name FROM labels WHERE tenant_id = ${tenant} AND name IN (SELECT value FROM json_each(${JSON.stringify(labels)}))`,
  );
  if (known.length !== labels.length) return fail('not_found', `Label ${labels.find((l) => !known.some((k) => k.name === l))} does not exist.`);
  const rotatedAt = nowIso();
  const writes = [
    write(sql`DELETE FROM wrapped_keys WHERE tenant_id = ${tenant} AND id IN (SELECT value FROM json_each(${JSON.stringify(retire)}))`),
    // Every key named must still be there: a rotation that deletes less than it says would leave a key behind.
    expectChanges('recovery.rotate keys', retire.length),
    write(sql`INSERT INTO label_rotations (tenant_id, label, rotation, rotated_at)
              SELECT ${tenant}, value, ${crypto.randomUUID()}, ${rotatedAt} FROM json_each(${JSON.stringify(labels)})`),
  ];
  const committed = await commit(writes, {
    target: { type: 'tenant', id: tenant },
    details: { labels, retired: retire, resealed: input.resealed },
    objects: retire.map((id) => imaging('key', id)),
  });
  if (!committed.ok) {
    if (committed.rejected === 'assertion') return fail('not_found', 'A key named in retire does not exist (or was deleted meanwhile).');
    throw new Error(committed.message);
  }
  return ok({ tenant, labels, retired: retire, rotatedAt, auditIndex: committed.auditIndex });
}
