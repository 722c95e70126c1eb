/**
 * Sealed records, checked (docs/design.md §7). A sealed access — a legal
 * request the provider may not reveal yet — reaches the tenant's log at once
 * as a *sealed record*: its time, the VM, a seal id, the date it must be
 * revealed by, and a commitment: `sha256:` + hex of the hidden record's
 * payload (the full record, as the provider's log holds it). By that date the
 * log must carry the *reveal*: a record naming the seal and holding the hidden
 * record's JWS. This module checks a verified log's records for both halves:
 * a reveal whose record does not hash to its commitment, a reveal of no seal,
 * and a seal past its date with no reveal are findings.
 *
 * "Now" is the caller's; the CLI takes the later of this machine's clock and
 * the newest record's time, so an emulator whose clock moved past a date is
 * judged on that clock.
 */
import { createHash } from 'node:crypto';
import { jwsPayload, jwsPayloadBytes, payloadMayHold } from '../audit/format/jws.ts';

export interface SealedRecord {
  seal: string;
  /** The sealed record's index in the tenant's log. */
  index: number;
  time: string;
  vm: string | null;
  commitment: string;
  sealUntil: string;
  /** The reveal's index, once the log carries it and it matches. */
  revealedAt: number | null;
  /** The record revealed (when it matched): who did what, and why. */
  revealed: { actor: { type: string; id: string | null }; action: string; details?: unknown } | null;
}

export interface SealReport {
  seals: SealedRecord[];
  /** Each broken promise: a mismatched or orphan reveal, or a seal overdue. None: every seal is honest so far. */
  findings: string[];
}

interface Payload {
  index: number;
  time: string;
  action: string;
  target: { type: string; id: string } | null;
  details?: { seal?: string; commitment?: string; sealUntil?: string; revealed?: { jws?: string } };
}

/** A seal or a reveal: both actions begin so (canonical JSON: no space after the colon). */
const mayBeSealing = payloadMayHold('"action":"access.');

const commitmentOf = (jws: string): string => `sha256:${createHash('sha256').update(jwsPayloadBytes(jws)).digest('hex')}`;

/** The seals in `records` (one log's, verified, in order) and what is wrong with them at `now` (ms). */
export function checkSeals(records: readonly { index: number; jws: string }[], now: number): SealReport {
  const seals = new Map<string, SealedRecord>();
  const findings: string[] = [];
  for (const { jws } of records) {
    if (!mayBeSealing(jws)) continue; // most records are neither: not parsed (issue 34: a 10,000-record verify)
    const record = jwsPayload<Payload>(jws);
    const details = record.details ?? {};
    if (record.action === 'access.sealed' && details.seal && details.commitment && details.sealUntil) {
      seals.set(details.seal, {
        seal: details.seal,
        index: record.index,
        time: record.time,
        vm: record.target?.id ?? null,
        commitment: details.commitment,
        sealUntil: details.sealUntil,
        revealedAt: null,
        revealed: null,
      });
    } else if (record.action === 'access.reveal' && details.seal) {
      const sealed = seals.get(details.seal);
      const hidden = details.revealed?.jws;
      if (!sealed) findings.push(`record ${record.index} reveals seal ${details.seal}, which no earlier sealed record announced`);
      else if (!hidden || commitmentOf(hidden) !== sealed.commitment) {
        findings.push(
          `record ${record.index} reveals seal ${details.seal} (sealed at record ${sealed.index}), but what it reveals does not match the commitment ${sealed.commitment}${hidden ? ` (it hashes to ${commitmentOf(hidden)})` : ''}`,
        );
      } else {
        const revealed = jwsPayload<{ actor: { type: string; id: string | null }; action: string; details?: unknown }>(hidden);
        seals.set(details.seal, {
          ...sealed,
          revealedAt: record.index,
          revealed: { actor: revealed.actor, action: revealed.action, details: revealed.details },
        });
      }
    }
  }
  for (const sealed of seals.values()) {
    if (sealed.revealedAt === null && Date.parse(sealed.sealUntil) < now) {
      findings.push(
        `seal ${sealed.seal} (record ${sealed.index}, VM ${sealed.vm ?? '?'}) was due to be revealed by ${sealed.sealUntil}, and the log carries no reveal`,
      );
    }
  }
  return { seals: [...seals.values()], findings };
}

/** The later of this machine's clock and the newest record's time: an emulator's moved clock counts. */
export function sealClock(records: readonly { jws: string }[]): number {
  const newest = records.at(-1);
  return Math.max(Date.now(), newest ? Date.parse(jwsPayload<{ time: string }>(newest.jws).time) : 0);
}

/**
 * Seals as a live stream delivers records (`custodes audit tail --follow`):
 * each broken promise reported once, as soon as the records show it — a
 * reveal that does not match, or a record stamped past a seal's date while it
 * is still sealed. A stream that did not start at the log's first record
 * cannot tell an orphan reveal from one whose seal came before it: pass
 * `fromStart: false` and such reveals are not findings.
 */
export class SealWatcher {
  readonly #records: { index: number; jws: string }[] = [];
  readonly #reported = new Set<string>();

  constructor(private readonly options: { fromStart: boolean }) {}

  /** One record, in log order: the findings it brings to light, judged at its own time. */
  observe(entry: { index: number; jws: string }): string[] {
    const { action, time } = jwsPayload<{ action: string; time: string }>(entry.jws);
    if (action === 'access.sealed' || action === 'access.reveal') this.#records.push(entry);
    if (this.#records.length === 0) return [];
    const fresh = checkSeals(this.#records, Date.parse(time)).findings.filter(
      (finding) => !this.#reported.has(finding) && (this.options.fromStart || !finding.includes('which no earlier sealed record announced')),
    );
    for (const finding of fresh) this.#reported.add(finding);
    return fresh;
  }
}
