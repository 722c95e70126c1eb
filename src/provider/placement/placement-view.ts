/**
 * The hosts' free capacity as placement sees it, cached in the isolate for a
 * second (issue 16: reading it was one of a VM create's two D1 round trips).
 * A stale view cannot over-commit anything — the guarded INSERT re-checks the
 * chosen host in the statement that writes (./capacity.ts) — it can only
 * choose a host that turns out full (the create then forgets the view and
 * reads afresh) or miss room that appeared meanwhile (so "no host fits" is
 * only ever answered from a fresh read). This isolate's own changes keep it
 * exact: a create debits its host; host changes, resizes, migrations, drains
 * and deletions forget it. Another isolate's changes reach it within the TTL.
 */
import type { Database } from '../../platform/db/client';
import { registerIsolateCache } from '../../platform/isolate-caches';
import type { Resources } from './capacity';
import type { HostCapacity } from './placement';

const TTL_MS = 1000;

let view: { at: number; hosts: HostCapacity[] } | null = null;
registerIsolateCache(() => forgetPlacementView());

/** The cached view, read with `read` when there is none or it is older than the TTL. */
export async function placementView(db: Database, read: (db: Database) => Promise<HostCapacity[]>, { fresh = false } = {}): Promise<HostCapacity[]> {
  if (fresh || !view || Date.now() - view.at > TTL_MS) view = { at: Date.now(), hosts: await read(db) };
  return view.hosts;
}

/** A VM of `demand` was placed on `hostId`: the view debits it, as a fresh read would. */
export function placedOnHost(hostId: string, demand: Resources): void {
  const host = view?.hosts.find((h) => h.id === hostId);
  if (host) host.free = { vcpus: host.free.vcpus - demand.vcpus, memoryMiB: host.free.memoryMiB - demand.memoryMiB };
}

/** Capacity or hosts changed some other way: the next create reads afresh. */
export function forgetPlacementView(): void {
  view = null;
}
