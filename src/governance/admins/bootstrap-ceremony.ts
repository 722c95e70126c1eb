/**
 * The bootstrap ceremony (docs/design.md §7). Whoever can set the
 * deployment's secrets holds every bootstrap key, so a bootstrap key must
 * never be one half of a two-person decision. Bootstrap keys exist to enrol
 * the first admins and nothing else:
 *
 *  - while fewer than two enrolled (registered, active) admins hold
 *    `security`, a bootstrap key may enrol admins and set their roles — at
 *    once, with no change request (there is nobody yet to approve one);
 *  - from the moment two enrolled admins hold `security`, every bootstrap key
 *    is refused (`bootstrap_retired`, recorded like any refusal);
 *  - re-enabling one is itself a two-person change (`bootstrap.reenable`),
 *    for a bounded time;
 *  - a bootstrap key never proposes nor approves a change: it may call only
 *    the enrolment routes (`bootstrap_limited` elsewhere), so both halves of
 *    every two-person decision are enrolled admins.
 *
 * The open/retired test is one SQL condition (`ceremonyOpen`), used both to
 * answer requests and as a guard inside the enrolment's own batch, so two
 * concurrent enrolments cannot both slip under the threshold.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../platform/db/client';
import { nowIso } from '../../platform/clock';

/** Enrolled admins holding `security` that retire the bootstrap keys. */
export const SECURITY_ADMINS_TO_RETIRE = 2;
/** The longest a re-enabled bootstrap key stays usable. */
export const MAX_REENABLE_MINUTES = 24 * 60;

/** Enrolled, active admins holding `security`. */
const securityAdmins = sql`(SELECT count(*) FROM admins WHERE state = 'active' AND EXISTS (SELECT 1 FROM json_each(admins.roles) WHERE json_each.value = 'security'))`;

/** True while bootstrap admin `id` may enrol: the ceremony is still open, or a two-person change re-enabled it. */
export const ceremonyOpen = (id: string): SQL =>
  sql`(${securityAdmins} < ${SECURITY_ADMINS_TO_RETIRE} OR EXISTS (SELECT 1 FROM bootstrap_reenables WHERE admin_id = ${id} AND until > ${nowIso()}))`;

export interface BootstrapStanding {
  /** Enrolled admins holding `security` now. */
  securityAdmins: number;
  /** Two of them: the bootstrap keys are retired. */
  retired: boolean;
  /** Until when a two-person change re-enabled this bootstrap key, if it did and that is still ahead. */
  reenabledUntil: string | null;
}

export async function bootstrapStanding(db: Database, id: string): Promise<BootstrapStanding> {
  const [row] = await db.all<{ security: number; until: string | null }>(
    sql`SELECT ${securityAdmins} AS security, (SELECT until FROM bootstrap_reenables WHERE admin_id = ${id} AND until > ${nowIso()}) AS until`,
  );
  const security = row?.security ?? 0;
  return { securityAdmins: security, retired: security >= SECURITY_ADMINS_TO_RETIRE, reenabledUntil: row?.until ?? null };
}

/** Whether bootstrap admin `id` may act now. */
export const mayEnrol = (standing: BootstrapStanding): boolean => !standing.retired || standing.reenabledUntil !== null;
