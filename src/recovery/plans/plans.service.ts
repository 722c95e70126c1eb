/**
 * Recovery plans (docs/design.md §6, §8): a plan says which actions were tainted and,
 * per page, which version the page would roll back to; applying it moves the
 * pages' heads there in one audited D1 batch, and reverting it moves them
 * back — exactly, since no version is ever deleted.
 *
 * - `undo` (taint.ts) follows the taint from seeds through the
 *   information-flow index: O(footprint of the taint).
 * - `replay` (replay.ts) re-runs the history under a patch: O(history).
 *
 * Both end in a set of versions that should not exist, and the same rule
 * turns it into page changes: a page whose current version is among them
 * goes back to its latest version that is neither among them nor rolled back
 * by an earlier applied plan (unwritten if there is none). A page whose
 * current version is legitimate is left alone, so later legitimate writes
 * survive. A plan covers the log as it was when planned; apply and revert are
 * guarded on every page's current version, so a page that moved meanwhile
 * makes the whole application fail cleanly (`plan_stale`) instead of undoing
 * work the plan never saw.
 */
import { firstOf, keysetPage } from '../../platform/db/queries';
import { and, eq, sql } from 'drizzle-orm';
import { expectChanges, write, type Commit, type WriteStatement } from '../../audit/log/commit';
import { tenantLog } from '../../audit/log/logs';
import type { ActorType, Region } from '../../audit/format/record';
import type { Database } from '../../platform/db/client';
import { recoveryPlans } from '../../platform/db/schema';
import { newId } from '../../lib/ids';
import type { Page, PageRequest } from '../../lib/page';
import { fail, found, ok, type Result } from '../../lib/result';
import type { Space } from '../../tenant/contents/contents.service';
import { describeReference, firstOutsideReach, planRegionSources, type Reference } from '../../auth/vm-reach-references';
import { outsideReach, regionInReach, type VmReach } from '../../auth/vm-reach';
import { d1FlowIndex, seedActions, type Seeds } from '../taint/flow-index';
import { collect, loadHistory, replayHistory, type Conflict, type Patch } from './replay';
import { pageKey, taintClosure, versionKey, type VersionRef } from '../taint/taint';
import { NOT_YOURS } from '../../lib/problems';
import { irreversibleActions, objectChanges, type ObjectChange } from '../objects/object-history';
import { imaging, restoreStatements } from '../objects/object-kinds';
import { nowIso } from '../../platform/clock';

export type { Seeds, Patch };

export type PlanRequest = { mode: 'undo'; seeds: Seeds } | { mode: 'replay'; patch: Patch };

export interface PlanChange {
  /** The VM (memory) or disk. */
  target: string;
  space: Space;
  index: number;
  fromVersion: number;
  /** 0: back to unwritten. */
  toVersion: number;
}

export interface Disclosure {
  auditIndex: number;
  time: string;
  actor: { type: ActorType; id: string | null };
  jti: string | null;
  pages: VersionRef[];
}

export interface PlanResult {
  /** Undo: the tainted actions. Replay: the allowed actions the patch denies. */
  taintedActions: number[];
  changes: PlanChange[];
  /** Versions the plan treats as never having existed. */
  taintedVersions: VersionRef[];
  /** Undo: sessions tainted by reading tainted data, each from its first tainted action. */
  sessions: { session: string; from: number }[];
  /** Undo: reads by the attack itself — what it saw; reads cannot be undone. */
  disclosures: Disclosure[];
  /** Replay: legitimate actions whose inputs do not exist under the patch. */
  conflicts: Conflict[];
  /** Undo: tenant objects besides contents the plan restores (recovery/objects). */
  objectChanges: ObjectChange[];
  /** Undo: tainted actions whose effects cannot all be undone. */
  irreversible: { auditIndex: number; action: string; why: string }[];
}

/** An object change as the API shows it: images as JSON objects (the plan keeps the index's text, to compare when applied). */
export type ObjectChangeView = Omit<ObjectChange, 'from' | 'to'> & { from: Record<string, unknown> | null; to: Record<string, unknown> | null };

export interface PlanView extends Omit<PlanResult, 'objectChanges'> {
  objectChanges: ObjectChangeView[];
  id: string;
  tenant: string;
  mode: 'undo' | 'replay';
  state: 'planned' | 'applied' | 'reverted';
  request: PlanRequest;
  /** The plan covers records [0, logSize) of the tenant's log. */
  logSize: number;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

const parseImage = (image: string | null) => (image === null ? null : (JSON.parse(image) as Record<string, unknown>));

const toView = (row: typeof recoveryPlans.$inferSelect): PlanView => {
  const result = JSON.parse(row.result) as PlanResult;
  return {
    id: row.id,
    tenant: row.tenantId,
    mode: row.mode,
    state: row.state,
    request: JSON.parse(row.request) as PlanRequest,
    logSize: row.logSize,
    ...result,
    // Plans made before objects were restored have neither list.
    objectChanges: (result.objectChanges ?? []).map((c) => ({ ...c, from: parseImage(c.from), to: parseImage(c.to) })),
    irreversible: result.irreversible ?? [],
    revision: row.revision,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
};

const refsJson = (refs: readonly VersionRef[]): string => JSON.stringify(refs.map((v) => [v.space, v.resource, v.index, v.version]));

/**
 * Page changes for a set of versions that should not exist, made by the
 * actions `voided` (the tainted ones; under replay, the denied ones). One
 * statement: per affected page — one holding such a version, or one such an
 * action cleared (a restore sets pages absent from its snapshot unwritten) —
 * its head, its latest version that is neither removed nor rolled back by an
 * applied plan (walking the page's versions down from the newest, so the cost
 * follows the removed versions, not the page's history), when that version
 * was written, and the latest clear of the page by an action that stands.
 * The page goes back to whichever of the two came last: that version, or
 * unwritten.
 */
export async function rollbackChanges(db: Database, log: string, removed: readonly VersionRef[], voided: readonly number[]): Promise<PlanChange[]> {
  const pages = new Map<string, { space: Space; resource: string; index: number; versions: number[]; cleared: boolean }>();
  const pageOf = (p: Omit<VersionRef, 'version'>) =>
    pages.get(pageKey(p)) ?? pages.set(pageKey(p), { space: p.space, resource: p.resource, index: p.index, versions: [], cleared: false }).get(pageKey(p))!;
  for (const v of removed) pageOf(v).versions.push(v.version);
  if (voided.length > 0) {
    const clears = await db.all<Omit<VersionRef, 'version'>>(sql`
      SELECT f.space, f.resource_id AS resource, f.idx AS "index" FROM json_each(${JSON.stringify(voided)}) a
      CROSS JOIN content_flows f ON f.log = ${log} AND f.audit_index = a.value AND f.kind = 'clear'`);
    for (const c of clears) pageOf(c).cleared = true;
  }
  if (pages.size === 0) return [];
  const rows = await db.all<{
    space: Space;
    resource: string;
    index: number;
    head: number | null;
    keep: number | null;
    keptAt: number | null;
    clearedAt: number | null;
  }>(sql`
    WITH p AS (SELECT value ->> 0 AS space, value ->> 1 AS resource, value ->> 2 AS idx, value -> 3 AS removed FROM json_each(${JSON.stringify([...pages.values()].map((p) => [p.space, p.resource, p.index, p.versions]))})),
    k AS (
      SELECT p.space, p.resource, p.idx,
        (SELECT h.version FROM content_heads h WHERE h.space = p.space AND h.resource_id = p.resource AND h.idx = p.idx) AS head,
        (SELECT v.version FROM content_versions v
          WHERE v.space = p.space AND v.resource_id = p.resource AND v.idx = p.idx
            AND v.version NOT IN (SELECT value FROM json_each(p.removed))
            AND NOT EXISTS (SELECT 1 FROM undone_versions u WHERE u.space = v.space AND u.resource_id = v.resource_id AND u.idx = v.idx AND u.version = v.version)
          ORDER BY v.version DESC LIMIT 1) AS keep,
        (SELECT MAX(f.audit_index) FROM content_flows f
          WHERE f.space = p.space AND f.resource_id = p.resource AND f.idx = p.idx AND f.kind = 'clear' AND +f.log = ${log}
            AND f.audit_index NOT IN (SELECT value FROM json_each(${JSON.stringify(voided)}))) AS clearedAt
      FROM p)
    SELECT k.space, k.resource, k."idx" AS "index", k.head, k.keep, k.clearedAt,
      (SELECT MIN(f.audit_index) FROM content_flows f WHERE f.space = k.space AND f.resource_id = k.resource AND f.idx = k.idx AND f.version = k.keep AND f.kind = 'write') AS keptAt
    FROM k`);
  const changes: PlanChange[] = [];
  for (const row of rows) {
    const page = pages.get(pageKey(row))!;
    // Whichever stands last: the latest legitimate version, or a legitimate clear after it.
    const to = row.keep !== null && (row.clearedAt === null || (row.keptAt ?? -1) > row.clearedAt) ? row.keep : 0;
    const from = row.head ?? 0;
    // A page whose current version is legitimate keeps it (later legitimate writes survive);
    // an unwritten page moves only if a voided action cleared it.
    const voidedHead = row.head === null ? page.cleared : page.versions.includes(row.head);
    if (!voidedHead || to === from) continue;
    changes.push({ target: row.resource, space: row.space, index: row.index, fromVersion: from, toVersion: to });
  }
  return changes.sort((a, b) => a.space.localeCompare(b.space) || a.target.localeCompare(b.target) || a.index - b.index);
}

/** The reads of the given actions, with who and when: what an attack saw. */
async function readsOf(db: Database, log: string, actions: readonly number[]): Promise<Disclosure[]> {
  if (actions.length === 0) return [];
  const rows = await db.all<{ auditIndex: number; time: string; actorType: ActorType; actorId: string | null; jti: string | null; pages: string }>(sql`
    SELECT f.audit_index AS auditIndex, f.time, f.actor_type AS actorType, f.actor_id AS actorId, f.jti,
           json_group_array(json_array(f.space, f.resource_id, f.idx, f.version)) AS pages
    FROM json_each(${JSON.stringify(actions)}) a
    CROSS JOIN content_flows f ON f.log = ${log} AND f.audit_index = a.value AND f.kind = 'read'
    GROUP BY f.audit_index ORDER BY f.audit_index`);
  return rows.map((r) => ({
    auditIndex: r.auditIndex,
    time: r.time,
    actor: { type: r.actorType, id: r.actorId },
    jti: r.jti,
    pages: (JSON.parse(r.pages) as [Space, string, number, number][]).map(([space, resource, index, version]) => ({ space, resource, index, version })),
  }));
}

async function undoneVersions(db: Database, tenant: string): Promise<VersionRef[]> {
  return db.all<VersionRef>(sql`
    SELECT u.space, u.resource_id AS resource, u.idx AS "index", u.version FROM undone_versions u
    JOIN recovery_plans p ON p.id = u.plan_id WHERE p.tenant_id = ${tenant}`);
}

/** Computes a plan over the tenant's log as it stands now (without storing it); an undo whose seeds name no action is refused. */
export async function computePlan(
  db: Database,
  tenant: string,
  request: PlanRequest,
): Promise<Result<{ logSize: number; result: PlanResult }, 'seeds_match_nothing'>> {
  const log = tenantLog(tenant);
  const [head] = await db.all<{ size: number }>(sql`SELECT size FROM audit_logs WHERE log = ${log}`);
  const logSize = head?.size ?? 0;
  if (request.mode === 'undo') {
    const seeds = await seedActions(db, log, logSize, request.seeds);
    // A plan that undoes nothing because its seeds are misspelt would read as "nothing to undo": say so instead.
    if (seeds.length === 0)
      return fail(
        'seeds_match_nothing',
        `No allowed action in records [0, ${logSize}) of ${log} matches the seeds: check the actor, session and action ids, and the time window.`,
        { logSize },
      );
    const taint = await taintClosure(d1FlowIndex(db, log, logSize), { actions: seeds, sessions: request.seeds.tokens });
    const taintedVersions = [...taint.versions.values()];
    // The attack itself: the seeded actions, and everything the principals it created did (rule 4).
    const attack = [...taint.actions].filter(([, cause]) => cause !== 'session').map(([action]) => action);
    const tainted = new Set(taint.actions.keys());
    return ok({
      logSize,
      result: {
        taintedActions: [...taint.actions.keys()].sort((a, b) => a - b),
        changes: await rollbackChanges(db, log, taintedVersions, [...tainted]),
        taintedVersions,
        sessions: [...taint.sessions].filter(([session]) => !request.seeds.tokens?.includes(session)).map(([session, from]) => ({ session, from })),
        disclosures: await readsOf(
          db,
          log,
          attack.sort((a, b) => a - b),
        ),
        conflicts: [],
        objectChanges: await objectChanges(db, log, logSize, tainted, nowIso()),
        irreversible: await irreversibleActions(db, log, tainted),
      },
    });
  }
  const outcome = replayHistory(await collect(loadHistory(db, log, logSize)), request.patch, await undoneVersions(db, tenant));
  return ok({
    logSize,
    result: {
      taintedActions: outcome.outcomeChanges,
      changes: await rollbackChanges(db, log, outcome.removed, outcome.outcomeChanges),
      taintedVersions: outcome.removed,
      sessions: [],
      disclosures: [],
      conflicts: outcome.conflicts,
      objectChanges: [],
      irreversible: [],
    },
  });
}

/**
 * The regions a plan touches: the pages it changes, the versions it treats as
 * tainted, the reads it discloses. The same as `planRegionSources` in SQL,
 * which reads them from a stored plan; this one checks a plan before it is stored.
 */
export function planRegions(result: PlanResult): Reference[] {
  const regions = new Map<string, Reference>();
  const add = (space: Space, resource: string) => regions.set(`${space}/${resource}`, { kind: 'region', space, resource });
  for (const c of result.changes) add(c.space, c.target);
  for (const v of result.taintedVersions) add(v.space, v.resource);
  for (const d of result.disclosures) for (const p of d.pages) add(p.space, p.resource);
  return [...regions.values()];
}

/**
 * Computes and stores a plan. A VM-limited principal gets one only when
 * everything the plan touches is in its reach (auth/vm-reach.ts): its seeds
 * could otherwise roll back, or reveal reads of, VMs it may not reach.
 */
export async function createPlan(
  db: Database,
  commit: Commit,
  tenant: string,
  request: PlanRequest,
  reach: VmReach,
): Promise<Result<PlanView, 'vm_not_allowed' | 'seeds_match_nothing'>> {
  const computed = await computePlan(db, tenant, request);
  if (!computed.ok) return computed;
  const { logSize, result } = computed.value;
  const outside = await firstOutsideReach(db, tenant, reach, planRegions(result));
  if (outside) return outsideReach(reach, `The plan touches ${describeReference(outside).replace(/^The /, 'the ')}, which`);
  const id = newId('rcp');
  const committed = await commit(
    [
      write(
        db
          .insert(recoveryPlans)
          .values({ id, tenantId: tenant, mode: request.mode, request: JSON.stringify(request), result: JSON.stringify(result), logSize }),
      ),
    ],
    {
      target: { type: 'recovery_plan', id },
      details: { mode: request.mode, logSize, taintedActions: result.taintedActions.length, changes: result.changes.length },
    },
  );
  if (!committed.ok) throw new Error(committed.message);
  return getPlan(db, tenant, id) as Promise<Result<PlanView, never>>;
}

export async function getPlan(db: Database, tenant: string, id: string): Promise<Result<PlanView, 'not_found'>> {
  return found(
    await firstOf(
      db
        .select()
        .from(recoveryPlans)
        .where(and(eq(recoveryPlans.id, id), eq(recoveryPlans.tenantId, tenant))),
      toView,
    ),
    NOT_YOURS,
  );
}

/** One page of the plans whose every region is in `reach`, newest first. */
export async function listPlans(db: Database, tenant: string, page: PageRequest, reach: VmReach): Promise<Page<PlanView>> {
  return keysetPage(
    (after) =>
      db
        .select()
        .from(recoveryPlans)
        .where(and(eq(recoveryPlans.tenantId, tenant), planInReach(reach), after)),
    { key: recoveryPlans.id, page, direction: 'desc', view: toView },
  );
}

type Transition = Result<{ plan: PlanView; auditIndex: number }, 'not_found' | 'invalid_state' | 'plan_stale'>;

/** Moves every changed page from `fromVersion` to `toVersion` (apply) or back (revert), and the plan's state with it. */
async function transition(db: Database, commit: Commit, tenant: string, id: string, direction: 'apply' | 'revert'): Promise<Transition> {
  const found = await getPlan(db, tenant, id);
  if (!found.ok) return found;
  const plan = found.value;
  const [fromState, toState] = direction === 'apply' ? (['planned', 'applied'] as const) : (['applied', 'reverted'] as const);
  if (plan.state !== fromState)
    return fail('invalid_state', `Plan ${id} is ${plan.state}; only a ${fromState} plan can be ${direction === 'apply' ? 'applied' : 'reverted'}.`, {
      state: plan.state,
    });

  // Each page moves from `was` to `now`; 0 is unwritten (no head row).
  const moves = plan.changes.map((c) => ({
    ...c,
    was: direction === 'apply' ? c.fromVersion : c.toVersion,
    now: direction === 'apply' ? c.toVersion : c.fromVersion,
  }));
  const json = (items: typeof moves) => JSON.stringify(items.map((m) => [m.space, m.target, m.index, m.was, m.now]));
  const repoint = moves.filter((m) => m.was !== 0 && m.now !== 0);
  const unwrite = moves.filter((m) => m.now === 0);
  const rewrite = moves.filter((m) => m.was === 0);
  const writes: WriteStatement[] = [
    write(sql`UPDATE recovery_plans SET state = ${toState}, revision = revision + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
              WHERE id = ${id} AND tenant_id = ${tenant} AND state = ${fromState} AND revision = ${plan.revision}`),
    expectChanges(`recovery.${direction} state`),
  ];
  if (repoint.length > 0) {
    writes.push(
      write(sql`UPDATE content_heads SET version = m.now
                FROM (SELECT value ->> 0 AS space, value ->> 1 AS resource_id, value ->> 2 AS idx, value ->> 3 AS was, value ->> 4 AS now FROM json_each(${json(repoint)})) AS m
                WHERE content_heads.space = m.space AND content_heads.resource_id = m.resource_id AND content_heads.idx = m.idx AND content_heads.version = m.was`),
      expectChanges(`recovery.${direction} heads`, repoint.length),
    );
  }
  if (unwrite.length > 0) {
    writes.push(
      write(sql`DELETE FROM content_heads WHERE (space, resource_id, idx, version) IN
                (SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(${json(unwrite)}))`),
      expectChanges(`recovery.${direction} unwritten`, unwrite.length),
    );
  }
  if (rewrite.length > 0) {
    // A head that appeared meanwhile (a new write) fails the insert: the plan is stale.
    writes.push(
      write(sql`INSERT INTO content_heads (space, resource_id, idx, version)
                SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 4 FROM json_each(${json(rewrite)}) WHERE true`),
      expectChanges(`recovery.${direction} rewritten`, rewrite.length),
    );
  }
  // Objects besides contents: each from the image the plan found to the one it wants (apply), or back (revert),
  // compared as the index's own text (the stored result), not as the parsed view.
  const [stored] = await db.select({ result: recoveryPlans.result }).from(recoveryPlans).where(eq(recoveryPlans.id, id));
  const objects = (JSON.parse(stored!.result) as Partial<PlanResult>).objectChanges ?? [];
  for (const change of objects) {
    const [from, to] = direction === 'apply' ? [change.from, change.to] : [change.to, change.from];
    writes.push(...restoreStatements(change, from, to, `recovery.${direction}`));
  }
  writes.push(
    direction === 'apply'
      ? write(sql`INSERT INTO undone_versions (space, resource_id, idx, version, plan_id)
                  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ${id} FROM json_each(${refsJson(plan.taintedVersions)}) WHERE true ON CONFLICT DO NOTHING`)
      : write(sql`DELETE FROM undone_versions WHERE plan_id = ${id}`),
  );

  const committed = await commit(writes, {
    target: { type: 'recovery_plan', id },
    regions: await rollbackRegions(db, moves),
    details: { mode: plan.mode, changes: moves.length, objectChanges: objects.length },
    objects: objects.map((change) => imaging(change.kind, ...change.key)),
  });
  if (committed.ok) {
    const after = await getPlan(db, tenant, id);
    return ok({ plan: (after as Extract<typeof after, { ok: true }>).value, auditIndex: committed.auditIndex });
  }
  if (committed.rejected !== 'assertion' && committed.rejected !== 'unique') throw new Error(committed.message);
  const now = await getPlan(db, tenant, id);
  if (now.ok && now.value.state !== fromState) return fail('invalid_state', `Plan ${id} is ${now.value.state} now.`, { state: now.value.state });
  return fail('plan_stale', `Pages the plan changes were written after it was made; make a new plan.`);
}

/** The record's regions: each page's new current version and its digest (what `--verify-fresh` expects next). */
async function rollbackRegions(db: Database, moves: readonly (PlanChange & { now: number })[]): Promise<Region[]> {
  const existing = moves.filter((m) => m.now !== 0);
  const digests = new Map<string, string>();
  if (existing.length > 0) {
    const rows = await db.all<{ space: Space; resource: string; index: number; version: number; digest: string }>(sql`
      SELECT v.space, v.resource_id AS resource, v.idx AS "index", v.version, v.digest
      FROM json_each(${JSON.stringify(existing.map((m) => [m.space, m.target, m.index, m.now]))}) m
      CROSS JOIN content_versions v ON v.space = m.value ->> 0 AND v.resource_id = m.value ->> 1 AND v.idx = m.value ->> 2 AND v.version = m.value ->> 3`);
    for (const r of rows) digests.set(versionKey(r), r.digest);
  }
  return moves.map((m) => ({
    space: m.space,
    resource: m.target,
    index: m.index,
    version: m.now,
    digest: m.now === 0 ? null : (digests.get(versionKey({ space: m.space, resource: m.target, index: m.index, version: m.now })) ?? null),
    access: 'rollback',
  }));
}

export const applyPlan = (db: Database, commit: Commit, tenant: string, id: string): Promise<Transition> => transition(db, commit, tenant, id, 'apply');
export const revertPlan = (db: Database, commit: Commit, tenant: string, id: string): Promise<Transition> => transition(db, commit, tenant, id, 'revert');

/** SQL: every region of the plan row `recovery_plans` is in `reach`. */
const planInReach = (reach: VmReach) =>
  reach.all
    ? undefined
    : and(
        ...planRegionSources(recoveryPlans.result).map((s) => sql`NOT EXISTS (SELECT 1 FROM ${s.from} WHERE NOT ${regionInReach(reach, s.space, s.resource)})`),
      );
