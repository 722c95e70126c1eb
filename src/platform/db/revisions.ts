/**
 * Optimistic concurrency, shared by every revisioned resource: writes carry
 * `WHERE revision = ?` when the client sent `If-Match`, and when such a write
 * changes nothing this tells whether the revision was the reason.
 */
import type { ProblemCode } from '../../lib/problems';
import { fail, ok, type Failure, type Result } from '../../lib/result';

export function staleRevision(resource: string, current: { revision: number }, expected: number | undefined) {
  if (expected === undefined || current.revision === expected) return null;
  return fail('precondition_failed', `${resource} is at revision ${current.revision}, not ${expected}.`, {
    currentRevision: current.revision,
  });
}

/**
 * A guarded write's answer, from a fresh read of its resource: the resource
 * as it now is when the write committed; otherwise why not — it is gone
 * (404), its revision moved on (412), or the write's own guard refused it,
 * which `refused` explains from the current state.
 */
export function guardedWriteResult<T extends { revision: number }, V, C extends ProblemCode>(
  resource: string,
  committed: { value: V } | null,
  current: T | null,
  expected: number | undefined,
  refused: (current: T) => Failure<C>,
): Result<V, 'not_found' | 'precondition_failed' | C> {
  if (committed) return ok(committed.value);
  if (!current) return fail('not_found', `${resource} does not exist.`);
  return staleRevision(resource, current, expected) ?? { ok: false, error: refused(current) };
}
