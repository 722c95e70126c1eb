/**
 * Opaque wrapped data keys (docs/design.md §3, §4): JWE objects the tenant made with a
 * key the provider never sees. Stored and returned verbatim; the provider can
 * neither unwrap nor check them beyond their size.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../../audit/log/commit';
import type { Database } from '../../platform/db/client';
import { wrappedKeys } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Result } from '../../lib/result';
import { NOT_YOURS } from '../../lib/problems';
import { imaging } from '../../recovery/objects/object-kinds';

/** Largest wrapped key accepted, in characters (a compact JWE is ASCII). */
export const MAX_WRAPPED_KEY_LENGTH = 4096;

export interface WrappedKeyView {
  id: string;
  tenant: string;
  name: string;
  wrapped: string;
  createdAt: string;
}

const toView = (row: typeof wrappedKeys.$inferSelect): WrappedKeyView => ({
  id: row.id,
  tenant: row.tenantId,
  name: row.name,
  wrapped: row.wrapped,
  createdAt: row.createdAt,
});

export async function storeWrappedKey(
  db: Database,
  commit: Commit,
  tenant: string,
  input: { name: string; wrapped: string },
): Promise<Result<WrappedKeyView, 'name_taken'>> {
  const id = newId('key');
  const committed = await commit([write(db.insert(wrappedKeys).values({ id, tenantId: tenant, name: input.name, wrapped: input.wrapped }))], {
    target: { type: 'key', id },
    details: { name: input.name },
    objects: [imaging('key', id)],
  });
  if (committed.ok) return getWrappedKey(db, tenant, id) as Promise<Result<WrappedKeyView, never>>;
  if (committed.rejected === 'unique') return fail('name_taken', `Tenant ${tenant} already has a key named ${JSON.stringify(input.name)}.`);
  throw new Error(committed.message);
}

export async function getWrappedKey(db: Database, tenant: string, id: string): Promise<Result<WrappedKeyView, 'not_found'>> {
  return found(
    await firstOf(
      db
        .select()
        .from(wrappedKeys)
        .where(and(eq(wrappedKeys.id, id), eq(wrappedKeys.tenantId, tenant))),
      toView,
    ),
    NOT_YOURS,
  );
}

/** One page of the tenant's keys; `name` finds the one key of that name (the SDK finds `dek-<key id>` so). */
export async function listWrappedKeys(db: Database, tenant: string, page: PageRequest, name?: string): Promise<Page<WrappedKeyView>> {
  return keysetPage(
    (after) =>
      db
        .select()
        .from(wrappedKeys)
        .where(and(eq(wrappedKeys.tenantId, tenant), name ? eq(wrappedKeys.name, name) : undefined, after)),
    { key: wrappedKeys.id, page, view: toView },
  );
}

export async function deleteWrappedKey(db: Database, commit: Commit, tenant: string, id: string): Promise<Result<{ id: string }, 'not_found'>> {
  const committed = await commit(
    [write(db.delete(wrappedKeys).where(and(eq(wrappedKeys.id, id), eq(wrappedKeys.tenantId, tenant)))), expectChanges('key.delete')],
    { objects: [imaging('key', id)] },
  );
  return committed.ok ? ok({ id }) : fail('not_found', NOT_YOURS);
}
