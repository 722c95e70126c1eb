/**
 * Placement policy, pure: given hosts and their free capacity, rank the ones
 * that can take a VM. Policy is "spread": the host with the most free memory
 * first (ties: most free vCPUs, then id), which keeps headroom for resizes and
 * limits the blast radius of one host failing. The guarded INSERT/UPDATE in
 * the VM service re-checks the choice atomically, so a stale view here can
 * cost a retry but never an over-commit.
 */
import type { Resources } from './capacity';

export interface HostCapacity {
  id: string;
  state: string;
  free: Resources;
}

export function rankHosts(hosts: readonly HostCapacity[], demand: Resources, exclude: ReadonlySet<string> = new Set()): HostCapacity[] {
  return hosts
    .filter((h) => h.state === 'active' && !exclude.has(h.id) && h.free.vcpus >= demand.vcpus && h.free.memoryMiB >= demand.memoryMiB)
    .sort((a, b) => b.free.memoryMiB - a.free.memoryMiB || b.free.vcpus - a.free.vcpus || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
