/**
 * Alert rules (issue 19): which records of a tenant's log its owner wants
 * pushed to a webhook the moment they commit. Pure: what matches (where a
 * webhook may go is webhook-policy.ts).
 */
import type { AuditRecord, Region } from '../format/record';

export const ALERT_KINDS = ['admin_attempt', 'labelled_read', 'toolstack_denied', 'access_use'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const ALERT_KIND_DESCRIPTIONS: Record<AlertKind, string> = {
  admin_attempt: "any attempt by a provider admin on the tenant's resources, allowed or not",
  labelled_read: 'any read of a labelled region',
  toolstack_denied: "any request by one of the tenant's toolstacks that was denied",
  access_use: 'any use of an access request the tenant approved',
};

export interface LabelledRegion {
  space: string;
  resource: string;
  start: number;
  count: number;
}

/**
 * Whether `record` is what a rule of `kind` alerts on; `labels` are the
 * tenant's labelled regions. A break-glass access fires every rule the tenant
 * has, whatever its kind: it proceeded without the tenant, which must hear of
 * it at once (docs/design.md §7).
 */
export function alertMatches(
  kind: AlertKind,
  record: Pick<AuditRecord, 'actor' | 'outcome' | 'action' | 'regions' | 'details'>,
  labels: readonly LabelledRegion[],
): boolean {
  if (record.action.startsWith('access.') && (record.details as { breakGlass?: unknown } | undefined)?.breakGlass === true) return true;
  switch (kind) {
    case 'admin_attempt':
      return record.actor.type === 'admin';
    case 'toolstack_denied':
      return record.actor.type === 'toolstack' && record.outcome === 'denied';
    case 'access_use':
      return record.action === 'access.use';
    case 'labelled_read':
      return (
        record.outcome === 'allowed' &&
        (record.regions ?? []).some(
          (r: Region) =>
            r.access === 'read' && labels.some((l) => l.space === r.space && l.resource === r.resource && r.index >= l.start && r.index < l.start + l.count),
        )
      );
  }
}
