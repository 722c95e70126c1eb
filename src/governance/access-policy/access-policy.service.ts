/**
 * A tenant's access policy (docs/design.md §7): for each reason a provider may
 * give for reaching one of its VMs, what happens without asking anyone —
 * `deny` at once, `allow` for at most N minutes, or `approve` (the owner
 * decides; the default). The policy decides when the request is filed, in
 * that request's own batch, and its record says so (`decidedBy: policy`).
 * Break-glass and sealed requests are not the tenant's to decide.
 */
import { and, eq } from 'drizzle-orm';
import { write, type Commit } from '../../audit/log/commit';
import type { Database } from '../../platform/db/client';
import { accessPolicies } from '../../platform/db/schema';
import { MAX_ACCESS_MINUTES, REASON_CODES, type ReasonCode } from '../access-requests/reasons';

export const POLICY_DECISIONS = ['deny', 'approve', 'allow'] as const;
export type PolicyDecision = (typeof POLICY_DECISIONS)[number];

export interface PolicyRule {
  reasonCode: ReasonCode;
  decision: PolicyDecision;
  /** `allow` only: the longest an automatic approval lasts (null: as long as asked, up to a day). */
  maxMinutes: number | null;
}

const DEFAULT_RULE = { decision: 'approve' as const, maxMinutes: null };

/** What the policy says for `reason` (the default: the owner decides). */
export async function policyDecision(db: Database, tenant: string, reason: ReasonCode): Promise<Omit<PolicyRule, 'reasonCode'>> {
  const [row] = await db
    .select()
    .from(accessPolicies)
    .where(and(eq(accessPolicies.tenantId, tenant), eq(accessPolicies.reasonCode, reason)));
  return row ? { decision: row.decision, maxMinutes: row.maxMinutes } : DEFAULT_RULE;
}

/** The whole policy: one rule per reason of the catalogue, defaults filled in. */
export async function getPolicy(db: Database, tenant: string): Promise<PolicyRule[]> {
  const rows = await db.select().from(accessPolicies).where(eq(accessPolicies.tenantId, tenant));
  return REASON_CODES.map((reasonCode) => {
    const row = rows.find((r) => r.reasonCode === reasonCode);
    return { reasonCode, decision: row?.decision ?? DEFAULT_RULE.decision, maxMinutes: row?.maxMinutes ?? null };
  });
}

/** Replaces the policy (reasons not named go back to `approve`), in the request's own audited batch. */
export async function putPolicy(
  db: Database,
  commit: Commit,
  tenant: string,
  rules: { reasonCode: ReasonCode; decision: PolicyDecision; maxMinutes?: number }[],
): Promise<PolicyRule[]> {
  const kept = rules.filter((r) => r.decision !== 'approve');
  const committed = await commit(
    [
      write(db.delete(accessPolicies).where(eq(accessPolicies.tenantId, tenant))),
      ...kept.map((r) =>
        write(
          db.insert(accessPolicies).values({
            tenantId: tenant,
            reasonCode: r.reasonCode,
            decision: r.decision,
            maxMinutes: r.decision === 'allow' ? Math.min(r.maxMinutes ?? MAX_ACCESS_MINUTES, MAX_ACCESS_MINUTES) : null,
          }),
        ),
      ),
    ],
    {
      target: { type: 'tenant', id: tenant },
      details: { rules: kept.map((r) => ({ reasonCode: r.reasonCode, decision: r.decision, maxMinutes: r.maxMinutes ?? null })) },
    },
  );
  if (!committed.ok) throw new Error(committed.message);
  return getPolicy(db, tenant);
}
