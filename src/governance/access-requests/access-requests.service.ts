/**
 * Provider access requests — a customer lockbox (docs/design.md §7). An operator who
 * needs to act on a tenant's VM beyond provisioning (today: take a ciphertext
 * snapshot) files a request naming the VM, the operation and a reason from a
 * fixed catalogue; the tenant's policy for that reason decides at once (deny,
 * or allow for at most N minutes) or leaves it to the tenant owner, who
 * approves or denies with its own token. An approval covers that VM and that
 * operation only, for the duration asked (at most a day), and every use is
 * recorded in the tenant's log. Approval never yields plaintext: the
 * operations it unlocks run server-side on ciphertext, and no admin route
 * returns an envelope.
 *
 * Two requests proceed without the tenant, on two enrolled `security`
 * admins' word instead (one files, another approves): break-glass — time-boxed
 * to 4 h, listed in the tenant's log as such and firing its alerts at once —
 * and a sealed `legal_request`, whose records reach the tenant's log as
 * sealed records until they are revealed (seals.ts). Break-glass is never sealed.
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
import { now, nowIso } from '../../platform/clock';
import { policyDecision } from '../access-policy/access-policy.service';

export const ACCESS_OPERATIONS = ['snapshot.create'] as const;
export type AccessOperation = (typeof ACCESS_OPERATIONS)[number];
export { MAX_ACCESS_MINUTES, REASON_CODES, type ReasonCode } from './reasons';
import type { ReasonCode } from './reasons';
/** Break-glass is time-boxed: at most this long. */
export const MAX_BREAK_GLASS_MINUTES = 4 * 60;
/** A seal lasts at most this long: a gag order with no end is just a hidden access. */
export const MAX_SEAL_DAYS = 180;

export interface AccessRequestInput {
  vm: string;
  operation: AccessOperation;
  reasonCode: ReasonCode;
  /** Free text for the tenant: the support case, what will be done. */
  detail: string;
  /** How long an approval lasts. */
  durationMinutes: number;
  /** Break-glass: proceeds on a second `security` admin's approval, not the tenant's. */
  breakGlass?: boolean;
  /** A `legal_request` sealed until this instant: the tenant sees a sealed record, revealed by then. */
  sealUntil?: string;
}

export interface AccessRequestView extends Omit<AccessRequestInput, 'breakGlass' | 'sealUntil'> {
  id: string;
  tenant: string;
  requester: string;
  state: 'pending' | 'approved' | 'denied';
  /** Who decided: `tenant`, `policy`, or the second security admin's id (break-glass, sealed). */
  decidedBy: string | null;
  breakGlass: boolean;
  sealUntil: string | null;
  /** When a sealed request was revealed to the tenant (it sees the request only from then). */
  revealedAt: string | null;
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
  decidedBy: row.decidedBy,
  breakGlass: row.breakGlass,
  sealUntil: row.sealUntil,
  // Revealed when its records were; a sealed request never used is revealed by its date alone.
  revealedAt: row.revealedAt ?? (row.sealUntil !== null && row.sealUntil <= nowIso() ? row.sealUntil : null),
  validUntil: row.validUntil,
  uses: row.uses,
  revision: row.revision,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** Break-glass and sealed requests: decided by a second enrolled `security` admin, not the tenant. */
export const decidedByAdmins = (request: Pick<AccessRequestView, 'breakGlass' | 'sealUntil'>): boolean => request.breakGlass || request.sealUntil !== null;

/** Why `input` cannot be filed as it is, or null. Break-glass and seals are for `security` admins. */
export function filingProblem(
  input: AccessRequestInput,
  requesterRoles: readonly string[],
  nowMs: number,
): { code: 'invalid_request' | 'missing_role'; detail: string } | null {
  if (input.breakGlass && input.sealUntil)
    return { code: 'invalid_request', detail: 'A break-glass access cannot be sealed: the tenant learns of it at once.' };
  if ((input.breakGlass || input.sealUntil) && !requesterRoles.includes('security'))
    return { code: 'missing_role', detail: 'Break-glass and sealed access are filed by a `security` admin, and approved by another.' };
  if (input.breakGlass && input.durationMinutes > MAX_BREAK_GLASS_MINUTES)
    return { code: 'invalid_request', detail: `Break-glass is time-boxed to ${MAX_BREAK_GLASS_MINUTES} minutes.` };
  if (input.sealUntil) {
    if (input.reasonCode !== 'legal_request') return { code: 'invalid_request', detail: 'Only a legal_request may be sealed.' };
    const until = Date.parse(input.sealUntil);
    if (!(until > nowMs)) return { code: 'invalid_request', detail: `sealUntil ${input.sealUntil} is not in the future.` };
    if (until > nowMs + MAX_SEAL_DAYS * 86_400_000) return { code: 'invalid_request', detail: `A seal lasts at most ${MAX_SEAL_DAYS} days.` };
  }
  return null;
}

/**
 * Files a request. The tenant's policy for its reason decides at once where
 * it says so (break-glass and sealed requests skip it: two admins decide).
 * The tenant's log gets a notice of it — except of a sealed one, which it
 * learns of only through the sealed record of its use.
 */
export async function fileAccessRequest(
  db: Database,
  commit: Commit,
  requester: string,
  input: AccessRequestInput,
): Promise<Result<AccessRequestView, 'not_found'>> {
  const vm = await findVm(db, input.vm);
  if (!vm) return fail('not_found', `VM ${input.vm} does not exist.`);
  const id = newId('acc');
  const byAdmins = Boolean(input.breakGlass || input.sealUntil);
  const policy = byAdmins ? null : await policyDecision(db, vm.tenant, input.reasonCode);
  const state = policy?.decision === 'deny' ? 'denied' : policy?.decision === 'allow' ? 'approved' : 'pending';
  const minutes = policy?.decision === 'allow' && policy.maxMinutes !== null ? Math.min(input.durationMinutes, policy.maxMinutes) : input.durationMinutes;
  const validUntil = state === 'approved' ? new Date(now() + minutes * 60_000).toISOString() : null;
  const decidedBy = policy && policy.decision !== 'approve' ? 'policy' : null;
  const committed = await commit(
    [
      write(
        db.insert(accessRequests).values({
          id,
          tenantId: vm.tenant,
          vmId: vm.id,
          operation: input.operation,
          reasonCode: input.reasonCode,
          detail: input.detail,
          durationMinutes: minutes,
          requester,
          state,
          decidedBy,
          validUntil,
          breakGlass: Boolean(input.breakGlass),
          sealUntil: input.sealUntil ?? null,
        }),
      ),
    ],
    {
      target: { type: 'access_request', id },
      details: {
        vm: vm.id,
        operation: input.operation,
        reasonCode: input.reasonCode,
        state,
        ...(decidedBy ? { decidedBy, policy: { decision: policy!.decision, maxMinutes: policy!.maxMinutes }, validUntil } : {}),
        ...(input.breakGlass ? { breakGlass: true } : {}),
        ...(input.sealUntil ? { sealUntil: input.sealUntil } : {}),
      },
      notify: input.sealUntil ? [] : [tenantLog(vm.tenant)],
    },
  );
  if (!committed.ok) throw new Error(committed.message);
  return ok((await findAccessRequest(db, id))!);
}

/**
 * The second `security` admin's decision on a break-glass or sealed request
 * (the tenant decides every other one). Its record is the provider's, with a
 * notice to the tenant's log unless the request is sealed — so break-glass
 * reaches the tenant (and its alerts) the moment it is granted.
 */
export async function decideAsSecondAdmin(
  db: Database,
  commit: Commit,
  admin: string,
  id: string,
  decision: 'approve' | 'deny',
): Promise<Result<AccessRequestView, 'not_found' | 'invalid_state' | 'self_approval'>> {
  const request = await findAccessRequest(db, id);
  if (!request) return fail('not_found', `Access request ${id} does not exist.`);
  if (!decidedByAdmins(request)) return fail('invalid_state', `Access request ${id} is for the tenant to decide (it is neither break-glass nor sealed).`);
  if (request.state !== 'pending') return fail('invalid_state', `Access request ${id} is already ${request.state}.`, { state: request.state });
  if (request.requester === admin) return fail('self_approval', `${admin} filed ${id}; a second security admin must decide it.`);
  const state = decision === 'approve' ? 'approved' : 'denied';
  const validUntil = decision === 'approve' ? new Date(now() + request.durationMinutes * 60_000).toISOString() : null;
  const committed = await commit(
    [
      write(sql`UPDATE access_requests SET state = ${state}, decided_by = ${admin}, valid_until = ${validUntil}, revision = revision + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                WHERE id = ${id} AND state = 'pending' AND revision = ${request.revision}`),
      expectChanges(`access.${decision}`),
    ],
    {
      target: { type: 'access_request', id },
      details: {
        vm: request.vm,
        operation: request.operation,
        state,
        validUntil,
        decidedBy: admin,
        ...(request.breakGlass ? { breakGlass: true } : {}),
        ...(request.sealUntil ? { sealUntil: request.sealUntil } : {}),
      },
      notify: request.sealUntil ? [] : [tenantLog(request.tenant)],
    },
  );
  if (!committed.ok) return fail('invalid_state', `Access request ${id} was decided meanwhile.`);
  return ok((await findAccessRequest(db, id))!);
}

export async function findAccessRequest(db: Database, id: string): Promise<AccessRequestView | null> {
  return firstOf(db.select().from(accessRequests).where(eq(accessRequests.id, id)), toView);
}

/** A sealed request stays out of the tenant's sight until it is revealed. */
const visibleToTenant = (request: Pick<AccessRequestView, 'sealUntil' | 'revealedAt'>): boolean => request.sealUntil === null || request.revealedAt !== null;

/** One request, as the provider (any tenant) or as a tenant (only its own, and not while sealed: others are absent). */
export async function getAccessRequest(db: Database, id: string, tenant?: string): Promise<Result<AccessRequestView, 'not_found'>> {
  const found = await findAccessRequest(db, id);
  return found && (tenant === undefined || (found.tenant === tenant && visibleToTenant(found)))
    ? ok(found)
    : fail('not_found', tenant ? NOT_YOURS : `Access request ${id} does not exist.`);
}

export async function listAccessRequests(
  db: Database,
  page: PageRequest,
  filter: { tenant?: string; state?: AccessRequestView['state'] } = {},
): Promise<Page<AccessRequestView>> {
  const where = (after: SQL | undefined) =>
    and(
      filter.tenant ? eq(accessRequests.tenantId, filter.tenant) : undefined,
      filter.tenant
        ? sql`(${accessRequests.sealUntil} IS NULL OR ${accessRequests.revealedAt} IS NOT NULL OR ${accessRequests.sealUntil} <= ${nowIso()})`
        : undefined,
      filter.state ? eq(accessRequests.state, filter.state) : undefined,
      after,
    );
  return keysetPage((after) => db.select().from(accessRequests).where(where(after)), { key: accessRequests.id, page, direction: 'desc', view: toView });
}

/** The tenant owner's decision on a pending request. */
export async function decideAccessRequest(
  db: Database,
  commit: Commit,
  tenant: string,
  id: string,
  decision: 'approve' | 'deny',
): Promise<Result<AccessRequestView, 'not_found' | 'invalid_state'>> {
  const found = await getAccessRequest(db, id, tenant);
  if (!found.ok) return found;
  const request = found.value;
  if (request.state !== 'pending') return fail('invalid_state', `Access request ${id} is already ${request.state}.`, { state: request.state });
  if (decidedByAdmins(request))
    return fail('invalid_state', `Access request ${id} is break-glass: two security admins decide it, and it is in your log as such.`);
  const state = decision === 'approve' ? 'approved' : 'denied';
  const validUntil = decision === 'approve' ? new Date(now() + request.durationMinutes * 60_000).toISOString() : null;
  const committed = await commit(
    [
      write(sql`UPDATE access_requests SET state = ${state}, decided_by = 'tenant', valid_until = ${validUntil}, revision = revision + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
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
  if (request.state !== 'approved')
    return `Access request ${id} is ${request.state}; ${decidedByAdmins(request) ? 'a second security admin' : 'the tenant (or its policy)'} must approve it first.`;
  if (!request.validUntil || new Date(request.validUntil) <= new Date(now())) return `The approval of ${id} expired at ${request.validUntil}.`;
  return null;
}
