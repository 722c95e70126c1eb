/**
 * Optimistic concurrency, shared by every revisioned resource: writes carry
 * `WHERE revision = ?` when the client sent `If-Match`, and when such a write
 * changes nothing this tells whether the revision was the reason.
 */
import { fail } from '../../lib/result';

export function staleRevision(resource: string, current: { revision: number }, expected: number | undefined) {
  if (expected === undefined || current.revision === expected) return null;
  return fail('precondition_failed', `${resource} is at revision ${current.revision}, not ${expected}.`, {
    currentRevision: current.revision,
  });
}
