/** A tenant's alert rules: create, list, delete — each change committed with its record in the tenant's log. */
import { and, eq } from 'drizzle-orm';
import { expectChanges, write, type Commit } from '../log/commit';
import type { Database } from '../../platform/db/client';
import { alertRules } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import { NOT_YOURS } from '../../lib/problems';
import { fail, ok, type Result } from '../../lib/result';
import { webhookUrlProblem, type AlertKind } from './alert-rules';

export interface AlertView {
  id: string;
  tenant: string;
  kind: AlertKind;
  url: string;
  createdAt: string;
}

const toView = (row: typeof alertRules.$inferSelect): AlertView => ({ id: row.id, tenant: row.tenantId, kind: row.kind, url: row.url, createdAt: row.createdAt });

/** Rules per tenant: each match is a delivery, so the fan-out per record is bounded. */
export const MAX_ALERT_RULES = 32;

export async function createAlert(db: Database, commit: Commit, tenant: string, input: { kind: AlertKind; url: string }, emulator: boolean): Promise<Result<AlertView, 'invalid_request' | 'quota_exceeded'>> {
  const problem = webhookUrlProblem(input.url, emulator);
  if (problem) return fail('invalid_request', `url: ${problem}.`);
  const existing = await db.select({ id: alertRules.id }).from(alertRules).where(eq(alertRules.tenantId, tenant));
  if (existing.length >= MAX_ALERT_RULES) return fail('quota_exceeded', `A tenant has at most ${MAX_ALERT_RULES} alert rules; delete one first.`);
  const id = newId('alr');
  const committed = await commit([write(db.insert(alertRules).values({ id, tenantId: tenant, kind: input.kind, url: input.url }))], { target: { type: 'alert', id }, details: { kind: input.kind, url: input.url } });
  if (!committed.ok) throw new Error(committed.message);
  const [row] = await db.select().from(alertRules).where(eq(alertRules.id, id));
  return ok(toView(row!));
}

export async function listAlerts(db: Database, tenant: string): Promise<AlertView[]> {
  return (await db.select().from(alertRules).where(eq(alertRules.tenantId, tenant)).orderBy(alertRules.id)).map(toView);
}

export async function deleteAlert(db: Database, commit: Commit, tenant: string, id: string): Promise<Result<{ id: string }, 'not_found'>> {
  const committed = await commit([write(db.delete(alertRules).where(and(eq(alertRules.tenantId, tenant), eq(alertRules.id, id)))), expectChanges('alert.delete')], { target: { type: 'alert', id } });
  return committed.ok ? ok({ id }) : fail('not_found', NOT_YOURS);
}
