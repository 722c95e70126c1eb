/**
 * Issue 29, finding 1, as a test: subscribers that never read cannot grow the
 * server's memory past the stream budget. One log, 120 idle subscribers, then
 * ~6 MiB of records each (more than the sockets' kernel buffers absorb, so
 * without a budget workerd would hold the rest: ~240 MiB here); against a
 * reference instance that takes the same records with no subscribers, in the
 * same run. The full figure (1,000 subscribers, 10,000 records) is
 * bench/stream-memory.ts, in bench/RESULTS.md.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { buildWorker } from '../../scripts/build-worker';
import { measureStreamMemory } from '../../bench/stream-memory';

before(() => buildWorker());

describe('issue 29: idle subscribers and memory', () => {
  it('keeps workerd within the budget plus slack of the reference, and gives the places back when they leave', { timeout: 300_000 }, async () => {
    const limits = { perPrincipal: 200, perLog: 64, perIsolate: 64, queueBytes: 64 * 1024 };
    const scenario = { subscribers: 120, records: 1500, tenants: 1, largeRecords: true, limits };
    const reference = await measureStreamMemory({ ...scenario, subscribers: 0 });
    const attacked = await measureStreamMemory(scenario);
    // While the records arrive: what the idle subscribers hold on top of what the records cost anyway.
    const recordPhase = (run: typeof reference) => run.mib.loaded - run.mib.connected;
    const extra = recordPhase(attacked) - recordPhase(reference);
    const perStream = (attacked.mib.connected - attacked.mib.start) / attacked.admitted;
    console.log(
      `records: reference grew ${recordPhase(reference).toFixed(0)} MiB, with ${attacked.admitted} idle subscribers ${recordPhase(attacked).toFixed(0)} MiB (${extra.toFixed(0)} MiB more); connecting cost ${perStream.toFixed(2)} MiB per admitted stream`,
    );
    assert.equal(attacked.admitted, 64);
    assert.equal(attacked.refused, 56);
    // The budget is 64 × 64 KiB = 4 MiB of events; the rest is the noise of two instances. Without
    // it, each of 120 subscribers would leave ~2 MiB past its socket's buffers in workerd: ~240 MiB.
    assert.ok(extra < 96, `the idle subscribers cost ${extra.toFixed(0)} MiB over the reference`);
    // Open streams cost memory of their own (the request, the response, the sink), bounded by their number.
    assert.ok(perStream < 4, `${perStream.toFixed(2)} MiB per open stream`);
    // Every place came back (more than 64 may be admitted in a round: a reader ended as lagging leaves its place too).
    assert.ok(attacked.readmitted >= 64, `only ${attacked.readmitted} re-admitted: closed subscribers kept their places`);
  });
});
