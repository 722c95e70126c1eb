/**
 * Change requests: the two-person rule of docs/design.md §7. A significant admin
 * operation (delete a tenant or VM, shrink a slice below its use, drain a host
 * with tenant VMs on it, register an admin, change an admin's roles, rotate
 * the audit key) is not
 * executed when asked: it becomes a pending change request, and runs only when
 * a *different* admin holding the role it needs approves it.
 *
 * Exactly once, by construction: the approval's D1 batch carries the request's
 * state transition (`pending` → `executed`, guarded on state and revision),
 * an assertion that the target is still at the revision it had when proposed,
 * and the operation's own writes — with the approval's audit record. Two
 * concurrent approvals cannot both pass the guard; a target changed meanwhile
 * aborts the whole batch, and the request is then marked `failed` with why.
 * Requests expire after a TTL (env `CHANGE_TTL_HOURS`, default 72). Every
 * transition is a record in the provider log and, for each tenant the change
 * touches, in that tenant's log too.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { expectChanges, write, type Commit, type WriteStatement } from '../../audit/log/commit';
import { jsonOf, type JsonValue } from '../../audit/format/canonical-json';
import { PROVIDER_LOG, tenantLog } from '../../audit/log/logs';
import type { Target } from '../../audit/format/record';
import type { AdminRole } from '../../auth/roles';
import type { Database } from '../../platform/db/client';
import { changeRequests } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import type { ProblemCode } from '../../lib/problems';
import { fail, found, ok, type Result } from '../../lib/result';
import { now as clockNow, nowIso } from '../../platform/clock';

export const CHANGE_OPERATIONS = [
  'tenant.delete',
  'tenant.update',
  'vm.delete',
  'host.drain',
  'admin.register',
  'admin.roles',
  'audit.rotate',
  'bootstrap.reenable',
] as const;
export type ChangeOperation = (typeof CHANGE_OPERATIONS)[number];
export const CHANGE_STATES = ['pending', 'executed', 'failed', 'denied', 'cancelled', 'expired'] as const;
export type ChangeState = (typeof CHANGE_STATES)[number];

export const DEFAULT_CHANGE_TTL_HOURS = 72;

export interface ChangeView {
  id: string;
  operation: ChangeOperation;
  target: Target;
  /** Tenants the change touches: each sees every step of it in its own log. */
  tenants: string[];
  params: JsonValue;
  /** The role an approver must hold. */
  requiredRole: AdminRole;
  proposer: string;
  approvals: { admin: string; at: string }[];
  state: ChangeState;
  /** Who denied or cancelled it. */
  decidedBy: string | null;
  /** Why execution failed. */
  failure: { code: string; detail: string } | null;
  /** The target's revision when proposed; execution fails cleanly if it has moved. Null: nothing to pin (a new admin). */
  targetRevision: number | null;
  expiresAt: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface Proposal {
  operation: ChangeOperation;
  target: Target;
  tenants: string[];
  params: JsonValue;
  requiredRole: AdminRole;
  targetRevision: number | null;
}

/** How each operation runs when approved: through the services, with the approval's commit. */
export type Executor = (db: Database, commit: Commit, change: ChangeView) => Promise<Result<JsonValue, ProblemCode>>;

type Row = typeof changeRequests.$inferSelect;

function toView(row: Row, now: Date): ChangeView {
  // A pending request past its deadline is expired, whether or not anyone has touched it since.
  const state = row.state === 'pending' && new Date(row.expiresAt) <= now ? 'expired' : row.state;
  return {
    id: row.id,
    operation: row.operation,
    target: { type: row.targetType, id: row.targetId },
    tenants: JSON.parse(row.tenants) as string[],
    params: JSON.parse(row.params) as JsonValue,
    requiredRole: row.requiredRole,
    proposer: row.proposer,
    approvals: JSON.parse(row.approvals) as ChangeView['approvals'],
    state,
    decidedBy: row.decidedBy,
    failure: row.failure ? (JSON.parse(row.failure) as ChangeView['failure']) : null,
    targetRevision: row.targetRevision,
    expiresAt: row.expiresAt,
    revision: row.revision,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The logs every step of a change is recorded in: the provider's and each affected tenant's (the request's own log among them). */
const noticeLogs = (change: { tenants: string[] }) => [PROVIDER_LOG, ...change.tenants.map(tenantLog)];

export async function proposeChange(db: Database, commit: Commit, proposer: string, proposal: Proposal, ttlHours: number): Promise<ChangeView> {
  const id = newId('chg');
  const expiresAt = new Date(clockNow() + ttlHours * 3_600_000).toISOString();
  const committed = await commit(
    [
      write(
        db.insert(changeRequests).values({
          id,
          operation: proposal.operation,
          targetType: proposal.target.type,
          targetId: proposal.target.id,
          tenants: JSON.stringify(proposal.tenants),
          params: JSON.stringify(proposal.params),
          requiredRole: proposal.requiredRole,
          targetRevision: proposal.targetRevision,
          proposer,
          expiresAt,
        }),
      ),
    ],
    {
      target: { type: 'change', id },
      details: { operation: proposal.operation, target: { ...proposal.target }, state: 'pending', expiresAt },
      notify: noticeLogs(proposal),
    },
  );
  if (!committed.ok) throw new Error(committed.message);
  return (await findChange(db, id))!;
}

export async function findChange(db: Database, id: string, now = new Date(clockNow())): Promise<ChangeView | null> {
  return firstOf(db.select().from(changeRequests).where(eq(changeRequests.id, id)), (row) => toView(row, now));
}

export const getChange = async (db: Database, id: string): Promise<Result<ChangeView, 'not_found'>> =>
  found(await findChange(db, id), `Change request ${id} does not exist.`);

/** One page of change requests, newest first; `state` filters (expired ones are pending past their deadline). */
export async function listChanges(db: Database, page: PageRequest, filter: { state?: ChangeState; tenant?: string } = {}): Promise<Page<ChangeView>> {
  const now = nowIso();
  const stateFilter: SQL | undefined =
    filter.state === 'expired'
      ? sql`(${changeRequests.state} = 'expired' OR (${changeRequests.state} = 'pending' AND ${changeRequests.expiresAt} <= ${now}))`
      : filter.state === 'pending'
        ? and(eq(changeRequests.state, 'pending'), sql`${changeRequests.expiresAt} > ${now}`)
        : filter.state
          ? eq(changeRequests.state, filter.state)
          : undefined;
  return keysetPage(
    (after) =>
      db
        .select()
        .from(changeRequests)
        .where(
          and(stateFilter, filter.tenant ? sql`EXISTS (SELECT 1 FROM json_each(${changeRequests.tenants}) WHERE value = ${filter.tenant})` : undefined, after),
        ),
    { key: changeRequests.id, page, direction: 'desc', view: (row) => toView(row, new Date(clockNow())) },
  );
}

/** The guarded state transition of `change` (as read) to `state`, with what else the row records. */
function transition(change: ChangeView, state: ChangeState, set: Partial<Pick<Row, 'approvals' | 'decidedBy' | 'failure'>> = {}): WriteStatement[] {
  const assignments = [
    sql`state = ${state}`,
    sql`revision = revision + 1`,
    sql`updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
    ...Object.entries(set).map(([column, value]) => sql`${sql.identifier(COLUMN[column as keyof typeof COLUMN])} = ${value}`),
  ];
  return [
    write(sql`UPDATE change_requests SET ${sql.join(assignments, sql`, `)} WHERE id = ${change.id} AND state = 'pending' AND revision = ${change.revision}`),
    expectChanges(`change.${state}`),
  ];
}

const COLUMN = { approvals: 'approvals', decidedBy: 'decided_by', failure: 'failure' } as const;

const TARGET_TABLES: Record<string, string> = { tenant: 'tenants', vm: 'vms', host: 'hosts', admin: 'admins' };

/** Asserts, inside the batch, that the change's target is still at the revision it was proposed against. */
function targetUnchanged(change: ChangeView): WriteStatement[] {
  const table = TARGET_TABLES[change.target.type];
  if (change.targetRevision === null || !table) return [];
  return [
    // A no-op update counts as a change when its row matches: exactly one row at that revision.
    write(sql`UPDATE ${sql.identifier(table)} SET revision = revision WHERE id = ${change.target.id} AND revision = ${change.targetRevision}`),
    expectChanges('change target unchanged'),
  ];
}

type Decision<T = ChangeView> = Result<
  T,
  'not_found' | 'invalid_state' | 'self_approval' | 'missing_role' | 'not_proposer' | 'change_expired' | 'change_failed'
>;

/** The checks every decision shares: the request exists, is still pending and not past its deadline. */
async function pendingChange(db: Database, commit: Commit, id: string): Promise<Result<ChangeView, 'not_found' | 'invalid_state' | 'change_expired'>> {
  const change = await findChange(db, id);
  if (!change) return fail('not_found', `Change request ${id} does not exist.`);
  if (change.state === 'expired') {
    // Expiry is recorded the first time someone acts on the request after its deadline; the
    // transition's own guard (still stored as pending) makes any later attempt a no-op.
    await commit(transition(change, 'expired'), {
      target: { type: 'change', id },
      outcome: 'failed',
      reason: 'change_expired',
      details: { operation: change.operation, state: 'expired' },
      notify: noticeLogs(change),
    });
    return fail('change_expired', `Change request ${id} expired at ${change.expiresAt}; propose it again.`);
  }
  if (change.state !== 'pending') return fail('invalid_state', `Change request ${id} is ${change.state}.`, { state: change.state });
  return ok(change);
}

/** Approves and executes a change request, exactly once. */
export async function approveChange(
  db: Database,
  commit: Commit,
  approver: { id: string; roles: readonly AdminRole[] },
  id: string,
  executors: Record<ChangeOperation, Executor>,
): Promise<Decision<{ change: ChangeView; result: JsonValue }>> {
  const found = await pendingChange(db, commit, id);
  if (!found.ok) return found;
  const change = found.value;
  if (change.proposer === approver.id) return fail('self_approval', `${approver.id} proposed ${id}; another admin must approve it.`);
  if (!approver.roles.includes(change.requiredRole))
    return fail('missing_role', `Approving ${change.operation} needs role ${change.requiredRole}; ${approver.id} has ${approver.roles.join(', ') || 'none'}.`, {
      requiredRoles: [change.requiredRole],
    });

  const approvals = JSON.stringify([...change.approvals, { admin: approver.id, at: nowIso() }]);
  const executing: Commit = (writes, options = {}) =>
    commit([...transition(change, 'executed', { approvals }), ...targetUnchanged(change), ...writes], {
      ...options,
      target: { type: 'change', id },
      details: { ...(options.details ?? {}), change: id, operation: change.operation, target: { ...change.target }, state: 'executed' },
      notify: noticeLogs(change),
    });
  const executed = await executors[change.operation](db, executing, change);
  if (executed.ok) return ok({ change: (await findChange(db, id))!, result: executed.value });
  // Someone else decided first, or the operation itself was refused: tell which.
  const now = await findChange(db, id);
  if (now && now.state !== 'pending') return fail('invalid_state', `Change request ${id} is ${now.state}.`, { state: now.state });
  const failure = { code: executed.error.code === 'precondition_failed' ? 'target_changed' : executed.error.code, detail: executed.error.detail };
  const marked = await commit(transition(change, 'failed', { approvals, failure: JSON.stringify(failure) }), {
    target: { type: 'change', id },
    outcome: 'failed',
    reason: 'change_failed',
    details: { operation: change.operation, state: 'failed', failure },
    notify: noticeLogs(change),
  });
  if (!marked.ok) return fail('invalid_state', `Change request ${id} changed while it was being approved.`);
  return fail('change_failed', `Change request ${id} could not be executed (${failure.code}): ${failure.detail}`, {
    change: jsonOf((await findChange(db, id))!),
  });
}

/** Denies (another admin with the role) or cancels (its proposer) a pending change request. */
export async function decideChange(
  db: Database,
  commit: Commit,
  admin: { id: string; roles: readonly AdminRole[] },
  id: string,
  decision: 'deny' | 'cancel',
): Promise<Decision> {
  const found = await pendingChange(db, commit, id);
  if (!found.ok) return found;
  const change = found.value;
  if (decision === 'cancel' && change.proposer !== admin.id)
    return fail('not_proposer', `Only ${change.proposer}, who proposed ${id}, may cancel it; others may deny it.`);
  if (decision === 'deny') {
    if (change.proposer === admin.id) return fail('self_approval', `${admin.id} proposed ${id}; cancel it instead.`);
    if (!admin.roles.includes(change.requiredRole))
      return fail('missing_role', `Denying ${change.operation} needs role ${change.requiredRole}.`, { requiredRoles: [change.requiredRole] });
  }
  const state = decision === 'deny' ? 'denied' : 'cancelled';
  const committed = await commit(transition(change, state, { decidedBy: admin.id }), {
    target: { type: 'change', id },
    details: { operation: change.operation, target: { ...change.target }, state },
    notify: noticeLogs(change),
  });
  if (!committed.ok) {
    const now = await findChange(db, id);
    return fail('invalid_state', `Change request ${id} is ${now?.state ?? 'gone'}.`, { state: now?.state ?? null });
  }
  return ok((await findChange(db, id))!);
}
