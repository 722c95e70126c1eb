/**
 * The taint closure of docs/design.md §6, as a pure algorithm over an index of
 * information flow (`FlowIndex`): it asks only about the items it has
 * already found tainted, so its cost follows the footprint of the taint, not
 * the length of the history. Data items are page/block versions.
 *
 * 1. Every write by a tainted action produces tainted versions.
 * 2. An action that reads a tainted version taints its session from that
 *    action on: the session's later actions, writes included, are tainted.
 *    Tokens are single-use, so a session is the tokens' shared `sid` claim
 *    (a client's session); a token without one is a session of its own.
 * 3. Server-side copies (snapshot restore) of tainted versions are tainted.
 * 4. A principal a tainted action created (a toolstack) is the attacker's:
 *    everything it did is tainted, whatever its session.
 *
 * Rules 1, 2 and 4 feed each other, so the closure runs in rounds: the versions
 * written by newly tainted actions, then the readers and copies of newly
 * tainted versions, until a round finds nothing new. Each round is a few
 * batched index lookups.
 */
import type { Space } from '../../tenant/contents/contents.service';

export interface VersionRef {
  space: Space;
  resource: string;
  index: number;
  version: number;
}

/** How an action came to be tainted: named by the seeds, by its session reading tainted data, or done by a principal the attack created (rule 4). */
export type TaintCause = 'seed' | 'session' | 'principal';

/** What the closure needs to know about the history; the D1 index implements it (flow-index.ts), tests may fake it. */
export interface FlowIndex {
  /** The versions these actions wrote (each with its writer). */
  writesOf(actions: readonly number[]): Promise<(VersionRef & { auditIndex: number })[]>;
  /** The actions that read any of these versions, with their sessions. */
  readersOf(versions: readonly VersionRef[]): Promise<{ auditIndex: number; session: string | null }[]>;
  /** Versions that are server-side copies of any of these. */
  copiesOf(versions: readonly VersionRef[]): Promise<VersionRef[]>;
  /** Each session's actions at or after its given index. */
  sessionActions(sessions: readonly { session: string; from: number }[]): Promise<number[]>;
  /** The principals (toolstacks) these actions created. */
  principalsCreatedBy(actions: readonly number[]): Promise<string[]>;
  /** Every allowed action of these principals. */
  principalActions(principals: readonly string[]): Promise<number[]>;
}

export interface Taint {
  actions: Map<number, TaintCause>;
  /** Principals the attack created (rule 4). */
  principals: Set<string>;
  /** Tainted sessions, each from the first tainted action in it. */
  sessions: Map<string, number>;
  versions: Map<string, VersionRef>;
}

export const versionKey = (v: VersionRef): string => `${v.space}|${v.resource}|${v.index}|${v.version}`;
export const pageKey = (v: Omit<VersionRef, 'version'>): string => `${v.space}|${v.resource}|${v.index}`;

/** The closure of the seed actions (and of seed sessions, tainted from their start). */
export async function taintClosure(index: FlowIndex, seeds: { actions: readonly number[]; sessions?: readonly string[] }): Promise<Taint> {
  const taint: Taint = { actions: new Map(), principals: new Set(), sessions: new Map(), versions: new Map() };
  let newActions = seeds.actions.filter((a) => !taint.actions.has(a));
  for (const a of newActions) taint.actions.set(a, 'seed');
  for (const session of seeds.sessions ?? []) taint.sessions.set(session, 0);

  while (newActions.length > 0) {
    const round = newActions;
    newActions = [];
    const taintAction = (action: number, cause: TaintCause) => {
      if (taint.actions.has(action)) return;
      taint.actions.set(action, cause);
      newActions.push(action);
    };
    // Rule 4: principals the new actions created, and everything they did.
    const created = (await index.principalsCreatedBy(round)).filter((p) => !taint.principals.has(p));
    for (const p of created) taint.principals.add(p);
    for (const action of await index.principalActions(created)) taintAction(action, 'principal');
    // Rule 1: what the new actions wrote.
    let newVersions = addVersions(taint, await index.writesOf(round));
    // Rule 3, to a fixed point: copies of copies are copies.
    for (let wave = newVersions; wave.length > 0; ) {
      wave = addVersions(taint, await index.copiesOf(wave));
      newVersions = newVersions.concat(wave);
    }
    if (newVersions.length === 0) continue;
    // Rule 2: readers of the new versions taint their sessions from the read on.
    const sessions = new Map<string, number>();
    for (const { auditIndex, session } of await index.readersOf(newVersions)) {
      if (session === null) {
        taintAction(auditIndex, 'session');
        continue;
      }
      const known = taint.sessions.get(session);
      if (known !== undefined && known <= auditIndex) continue;
      if ((sessions.get(session) ?? Infinity) > auditIndex) sessions.set(session, auditIndex);
    }
    if (sessions.size === 0) continue;
    for (const [session, from] of sessions) taint.sessions.set(session, from);
    for (const action of await index.sessionActions([...sessions].map(([session, from]) => ({ session, from })))) taintAction(action, 'session');
  }
  return taint;
}

function addVersions(taint: Taint, versions: readonly VersionRef[]): VersionRef[] {
  const added: VersionRef[] = [];
  for (const { space, resource, index, version } of versions) {
    const key = versionKey({ space, resource, index, version });
    if (taint.versions.has(key)) continue;
    const ref = { space, resource, index, version };
    taint.versions.set(key, ref);
    added.push(ref);
  }
  return added;
}
