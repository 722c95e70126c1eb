/**
 * Audit key hand-over checkpoints (issue 17). A rotation must not strand a
 * verifier that pinned the old key: the old key vouches for its successor.
 *
 * A hand-over is a C2SP checkpoint of the provider log — a tree that holds
 * the record approving the rotation — with two extension lines, signed by
 * the old key (when the change is approved) and by the new one (when it
 * first signs), both under the note key name `custodes-audit`:
 *
 *   custodes/provider
 *   <size>
 *   <base64 root>
 *   custodes-audit-handover <the new key's note vkey>
 *   change <change request id> <index of its approval in the provider log>
 *
 * Extension lines are allowed by c2sp.org/tlog-checkpoint; a checkpoint
 * parser that knows nothing of them reads the first three lines as usual.
 */
import { checkpointBody, parseCheckpointBody, type Checkpoint } from './note.ts';

export const HANDOVER_ORIGIN = 'custodes/provider';
const HANDOVER = 'custodes-audit-handover';

export interface HandoverClaim {
  /** The provider log's tree that holds the approval. */
  checkpoint: Checkpoint;
  /** The successor's note verifier key. */
  to: string;
  change: string;
  approvalIndex: number;
}

/** One hand-over as `GET /v1/audit/key-handovers` publishes it, and as verifiers read it. */
export interface KeyHandover {
  /** kids: the key handing over, its successor, and the successor's state (`approved` until it first signs). */
  from: string;
  to: string;
  state: 'approved' | 'active' | 'retired';
  /** The hand-over checkpoint, signed by both keys (by the first only while `approved`). */
  note: string;
  change: string;
  /** The `change.approve` record, and its inclusion proof in the hand-over's tree. */
  approval: { index: number; size: number; jws: string; proof: string[] };
}

export function handoverBody({ checkpoint, to, change, approvalIndex }: HandoverClaim): string {
  if (/\s/.test(to) || /\s/.test(change)) throw new Error('a hand-over names its key and change without spaces');
  return `${checkpointBody(checkpoint)}${HANDOVER} ${to}\nchange ${change} ${approvalIndex}\n`;
}

/** A hand-over's claims from its note body, or why it is not one. */
export function parseHandoverBody(body: string): HandoverClaim | string {
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpointBody(body);
  } catch (error) {
    return (error as Error).message;
  }
  if (checkpoint.origin !== HANDOVER_ORIGIN) return `a hand-over is a checkpoint of ${HANDOVER_ORIGIN}, not ${checkpoint.origin}`;
  const [, , , handover, change, end, ...rest] = body.split('\n');
  const to = new RegExp(`^${HANDOVER} (\\S+)$`).exec(handover ?? '');
  const cited = /^change (\S+) (0|[1-9][0-9]{0,15})$/.exec(change ?? '');
  if (!to || !cited || end !== '' || rest.length > 0) return 'a hand-over names its successor key and the approving change (two extension lines)';
  const approvalIndex = Number(cited[2]);
  if (approvalIndex >= checkpoint.size) return `the approval (record ${approvalIndex}) is outside the hand-over's tree of ${checkpoint.size}`;
  return { checkpoint, to: to[1]!, change: cited[1]!, approvalIndex };
}
