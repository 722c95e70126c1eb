/**
 * Provider access requests — a customer lockbox (docs/design.md §7). An operator who
 * needs to act on a tenant's VM beyond provisioning (today: take a ciphertext
 * snapshot for a support case) files a request naming the VM, the operation
 * and a reason code; the tenant owner approves or denies it with its own
 * token. An approval covers that VM and that operation only, for the duration
 * asked (at most a day), and every use is recorded in the tenant's log.
 * Approval never yields plaintext: the operations it unlocks run
 * server-side on ciphertext, and no admin route returns an envelope.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { expectChanges, write, type Commit, type WriteStatement } from '../../audit/log/commit';
import { PROVIDER_LOG, tenantLog } from '../../audit/log/logs';
import type { Database } from '../../platform/db/client';
import { accessRequests } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, ok, type Result } from '../../lib/result';
import { findVm } from '../../provider/vms/vms.service';
import { NOT_YOURS } from '../../lib/problems';
import { now } from '../../platform/clock';

export const ACCESS_OPERATIONS = ['snapshot.create'] as const;
export type AccessOperation = (typeof ACCESS_OPERATIONS)[number];
export const REASON_CODES = ['support_case', 'incident_response', 'legal_request', 'maintenance'] as const;
export type ReasonCode = (typeof REASON_CODES)[number];
export const MAX_ACCESS_MINUTES = 24 * 60;

export interface AccessRequestInput {
  vm: string;
  operation: AccessOperation;
  reasonCode: ReasonCode;
  /** Free text for the tenant: the support case, what will be done. */
  detail: string;
  /** How long an approval lasts. */
  durationMinutes: number;
}

export interface AccessRequestView extends AccessRequestInput {
  id: string;
  tenant: string;
  requester: string;
  state: 'pending' | 'approved' | 'denied';
  /** Until when an approval may be used. */
  validUntil: string | null;
  uses: number;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

type Row = typeof accessRequests.$inferSelect;

const toView = (row: Row): AccessRequestView => ({
  id: row.id,
  tenant: row.tenantId,
  vm: row.vmId,
  operation: row.operation,
  reasonCode: row.reasonCode,
  detail: row.detail,
  durationMinutes: row.durationMinutes,
  requester: row.requester,
  state: row.state,
  validUntil: row.validUntil,
  uses: row.uses,
  revision: row.revision,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

export async function fileAccessRequest(db: Database, commit: Commit, requester: string, input: AccessRequestInput): Promise<Result<AccessRequestView, 'not_found'>> {
  const vm = await findVm(db, input.vm);
  if (!vm) return fail('not_found', `VM ${input.vm} does not exist.`);
  const id = newId('acc');
  const committed = await commit([write(db.insert(accessRequests).values({ id, tenantId: vm.tenant, vmId: vm.id, operation: input.operation, reasonCode: input.reasonCode, detail: input.detail, durationMinutes: input.durationMinutes, requester }))], {
    target: { type: 'access_request', id },
    details: { vm: vm.id, operation: input.operation, reasonCode: input.reasonCode, state: 'pending' },
    notify: [tenantLog(vm.tenant)],
  });
  if (!committed.ok) throw new Error(committed.message);
  return ok((await findAccessRequest(db, id))!);
}

export async function findAccessRequest(db: Database, id: string): Promise<AccessRequestView | null> {
  return firstOf(db.select().from(accessRequests).where(eq(accessRequests.id, id)), toView);
}

/** One request, as the provider (any tenant) or as a tenant (only its own: others are absent). */
export async function getAccessRequest(db: Database, id: string, tenant?: string): Promise<Result<AccessRequestView, 'not_found'>> {
  const found = await findAccessRequest(db, id);
  return found && (tenant === undefined || found.tenant === tenant) ? ok(found) : fail('not_found', tenant ? NOT_YOURS : `Access request ${id} does not exist.`);
}

export async function listAccessRequests(db: Database, page: PageRequest, filter: { tenant?: string; state?: AccessRequestView['state'] } = {}): Promise<Page<AccessRequestView>> {
  const where = (after: SQL | undefined) =>
    and(filter.tenant ? eq(accessRequests.tenantId, filter.tenant) : undefined, filter.state ? eq(accessRequests.state, filter.state) : undefined, after);
  return keysetPage((after) => db.select().from(accessRequests).where(where(after)), { key: accessRequests.id, page, direction: 'desc', view: toView });
}

/** The tenant owner's decision on a pending request. */
export async function decideAccessRequest(db: Database, commit: Commit, tenant: string, id: string, decision: 'approve' | 'deny'): Promise<Result<AccessRequestView, 'not_found' | 'invalid_state'>> {
  const found = await getAccessRequest(db, id, tenant);
  if (!found.ok) return found;
  const request = found.value;
  if (request.state !== 'pending') return fail('invalid_state', `Access request ${id} is already ${request.state}.`, { state: request.state });
  const state = decision === 'approve' ? 'approved' : 'denied';
  const validUntil = decision === 'approve' ? new Date(now() + request.durationMinutes * 60_000).toISOString() : null;
  const committed = await commit(
    [
      write(sql`UPDATE access_requests SET state = ${state}, valid_until = ${validUntil}, revision = revision + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                WHERE id = ${id} AND state = 'pending' AND revision = ${request.revision}`),
      expectChanges(`access.${decision}`),
    ],
    { target: { type: 'access_request', id }, details: { vm: request.vm, operation: request.operation, state, validUntil }, notify: [PROVIDER_LOG] },
  );
  if (!committed.ok) return fail('invalid_state', `Access request ${id} was decided meanwhile.`);
  return ok((await findAccessRequest(db, id))!);
}

/**
 * The statements that, in the batch of the operation they unlock, count one
 * use of an approval — and abort that batch unless the approval is for this
 * VM and operation and still valid at commit time.
 */
export function useOfApproval(id: string, vm: string, operation: AccessOperation): WriteStatement[] {
  return [
    write(sql`UPDATE access_requests SET uses = uses + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
              WHERE id = ${id} AND vm_id = ${vm} AND operation = ${operation} AND state = 'approved'
                AND valid_until > strftime('%Y-%m-%dT%H:%M:%fZ','now')`),
    expectChanges('access approval valid'),
  ];
}

/** Why an approval cannot be used for `vm` and `operation` now, or null when it can. */
export async function approvalProblem(db: Database, id: string, vm: string, operation: AccessOperation): Promise<string | null> {
  const request = await findAccessRequest(db, id);
  if (!request || request.vm !== vm) return `Access request ${id} is not for VM ${vm}.`;
  if (request.operation !== operation) return `Access request ${id} covers ${request.operation}, not ${operation}.`;
  if (request.state !== 'approved') return `Access request ${id} is ${request.state}; the tenant must approve it first.`;
  if (!request.validUntil || new Date(request.validUntil) <= new Date(now())) return `The approval of ${id} expired at ${request.validUntil}.`;
  return null;
}
