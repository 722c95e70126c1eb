/** A tenant's alert rules: create, list, delete — each change committed with its record in the tenant's log. */
import { and, desc, eq } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../log/commit';
import type { Database } from '../../platform/db/client';
import { alertDeliveries, alertRules } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import { NOT_YOURS } from '../../lib/problems';
import { fail, ok, type Result } from '../../lib/result';
import type { AlertKind } from './alert-rules';
import type { Verdict } from './webhook-policy';

export interface AlertView {
  id: string;
  tenant: string;
  kind: AlertKind;
  url: string;
  createdAt: string;
}

const toView = (row: typeof alertRules.$inferSelect): AlertView => ({
  id: row.id,
  tenant: row.tenantId,
  kind: row.kind,
  url: row.url,
  createdAt: row.createdAt,
});

/** Rules per tenant: each match is a delivery, so the fan-out per record is bounded. */
export const MAX_ALERT_RULES = 32;

/** `checkUrl`: the webhook policy (deliveries.ts `checkWebhook`), so the service needs no environment. */
export async function createAlert(
  db: Database,
  commit: Commit,
  tenant: string,
  input: { kind: AlertKind; url: string },
  checkUrl: (url: string) => Promise<Verdict>,
): Promise<Result<AlertView, 'invalid_request' | 'quota_exceeded'>> {
  const verdict = await checkUrl(input.url);
  if (!verdict.ok) return fail('invalid_request', `url: ${verdict.problem}.`);
  const existing = await db.select({ id: alertRules.id }).from(alertRules).where(eq(alertRules.tenantId, tenant));
  if (existing.length >= MAX_ALERT_RULES) return fail('quota_exceeded', `A tenant has at most ${MAX_ALERT_RULES} alert rules; delete one first.`);
  const id = newId('alr');
  const url = verdict.url.href; // as the URL parser reads it: the address that was checked is the one kept
  const committed = await commit([write(db.insert(alertRules).values({ id, tenantId: tenant, kind: input.kind, url }))], {
    target: { type: 'alert', id },
    details: { kind: input.kind, url },
  });
  if (!committed.ok) throw new Error(committed.message);
  const [row] = await db.select().from(alertRules).where(eq(alertRules.id, id));
  return ok(toView(row!));
}

export async function listAlerts(db: Database, tenant: string): Promise<AlertView[]> {
  return (await db.select().from(alertRules).where(eq(alertRules.tenantId, tenant)).orderBy(alertRules.id)).map(toView);
}

export async function deleteAlert(db: Database, commit: Commit, tenant: string, id: string): Promise<Result<{ id: string }, 'not_found'>> {
  const committed = await commit(
    [write(db.delete(alertRules).where(and(eq(alertRules.tenantId, tenant), eq(alertRules.id, id)))), expectChanges('alert.delete')],
    { target: { type: 'alert', id } },
  );
  return committed.ok ? ok({ id }) : fail('not_found', NOT_YOURS);
}

export interface DeliveryView {
  index: number;
  attempts: number;
  deliveredAt: string | null;
  lastError: string | null;
  nextAttemptAt: string | null;
}

/** A rule's deliveries, newest first; another tenant's rule is as unknown as a made-up one. */
export async function listDeliveries(db: Database, tenant: string, rule: string, limit: number): Promise<Result<DeliveryView[], 'not_found'>> {
  const [owned] = await db
    .select({ id: alertRules.id })
    .from(alertRules)
    .where(and(eq(alertRules.tenantId, tenant), eq(alertRules.id, rule)));
  if (!owned) return fail('not_found', NOT_YOURS);
  const rows = await db.select().from(alertDeliveries).where(eq(alertDeliveries.ruleId, rule)).orderBy(desc(alertDeliveries.auditIndex)).limit(limit);
  return ok(
    rows.map((row) => ({
      index: row.auditIndex,
      attempts: row.attempts,
      deliveredAt: row.deliveredAt,
      lastError: row.lastError,
      nextAttemptAt: row.deliveredAt ? null : new Date(row.nextAttemptAt).toISOString(),
    })),
  );
}
