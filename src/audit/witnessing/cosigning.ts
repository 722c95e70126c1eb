/**
 * Witness cosigning as one of a log's sequencer extensions
 * (audit/log/extensions.ts): after each commit, and for readers of the
 * cosigned checkpoint, the configured witnesses (env `AUDIT_WITNESSES`) are
 * asked to cosign the log's latest checkpoint, and what they cosign is kept
 * (./witnesses.ts). One round at a time: a call during a round waits for it,
 * and one more round runs if the log grew meanwhile. A witness that is down
 * fails its part of the round, and the next round asks it again.
 */
import type { LogExtension, SequencerHost } from '../log/extensions';
import { configuredWitnesses, keepCosigned, submitCheckpoint, type WitnessOutcome } from './witnesses';

/** One cosigning round: the size it asked the witnesses to cosign, and what each answered. */
export interface CosignRound {
  size: number;
  cosignatures: number;
  outcomes: WitnessOutcome[];
}

export interface WitnessCosigning extends LogExtension {
  cosign(): Promise<CosignRound | null>;
}

export function witnessCosigning(host: SequencerHost): WitnessCosigning {
  let inFlight: Promise<CosignRound | null> | null = null;
  let again = false;

  async function round(): Promise<CosignRound | null> {
    const { env, log, storage } = host;
    const witnesses = configuredWitnesses(env);
    if (witnesses.length === 0) return null;
    const { size, note } = await host.checkpoint();
    if (size === 0) return null;
    // The size each witness cosigned last, as far as this log knows (it tells us when we are wrong).
    const known = (await storage.get<Record<string, number>>('witness-sizes')) ?? {};
    const outcomes = await Promise.all(
      witnesses.map((w): Promise<WitnessOutcome> | WitnessOutcome =>
        known[w.vkey] === size ? { witness: w.key.name, ok: true, size, cosignature: null } : submitCheckpoint(env, log, w, note, size, known[w.vkey] ?? 0),
      ),
    );
    const fresh = outcomes.flatMap((o) => (o.ok && o.cosignature ? [o.cosignature] : []));
    witnesses.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o.ok) known[w.vkey] = size;
      else if (o.size !== undefined) known[w.vkey] = o.size;
    });
    await storage.put('witness-sizes', known);
    const cosignatures = fresh.length > 0 ? await keepCosigned(env, log, size, note, fresh) : outcomes.filter((o) => o.ok).length;
    return { size, cosignatures, outcomes };
  }

  function cosign(): Promise<CosignRound | null> {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      let last: CosignRound | null = null;
      do {
        again = false;
        last = await round();
      } while (again);
      return last;
    })().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  return {
    cosign,
    afterCommit() {
      // After the answers, never before them: witnesses add no latency to an append.
      if (configuredWitnesses(host.env).length > 0) void cosign().catch(() => null);
    },
  };
}
