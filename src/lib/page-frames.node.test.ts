/**
 * lib/page-frames.ts: the binary frames of guest contents, against bytes
 * written out by hand (so a change of layout cannot pass by round-tripping
 * through itself), and every malformed frame refused with a reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENVELOPE_BYTES } from './envelope-format.ts';
import { decodeReadFrame, decodeWriteFrame, encodeReadFrame, encodeWriteFrame, prefersFrames } from './page-frames.ts';

const envelope = (fill: number) => new Uint8Array(ENVELOPE_BYTES).fill(fill);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('page frames', () => {
  it('writes a write frame as the layout says, and reads it back', () => {
    const frame = encodeWriteFrame([
      { index: 7, envelope: envelope(0xaa) },
      { index: 2 ** 40 + 1, envelope: envelope(0x01) },
    ]);
    assert.equal(frame.length, 8 + 2 * (8 + ENVELOPE_BYTES));
    assert.equal(hex(frame.subarray(0, 16)), `43505701` + `00000002` + `0000000000000007`);
    assert.equal(frame[16], 0xaa);
    assert.equal(hex(frame.subarray(8 + 8 + ENVELOPE_BYTES, 8 + 16 + ENVELOPE_BYTES)), '0000010000000001');
    const decoded = decodeWriteFrame(frame);
    assert.ok(decoded.ok);
    assert.deepEqual(
      decoded.value.map((p) => [p.index, p.envelope[0], p.envelope.length]),
      [
        [7, 0xaa, ENVELOPE_BYTES],
        [2 ** 40 + 1, 0x01, ENVELOPE_BYTES],
      ],
    );
  });

  it('writes a read frame as the layout says, with its evidence after the pages', () => {
    const digest = new Uint8Array(32).fill(0x5c);
    const frame = encodeReadFrame([{ index: 3, version: 258, digest, envelope: envelope(0x01) }], { read: { index: 9, jws: 'a.b.c' }, writes: [] });
    const evidence = '{"read":{"index":9,"jws":"a.b.c"},"writes":[]}';
    assert.equal(hex(frame.subarray(0, 20)), `43505201` + `00000001` + `0000000000000003` + `00000102`);
    assert.equal(hex(frame.subarray(20, 52)), '5c'.repeat(32));
    const end = 8 + 8 + 4 + 32 + ENVELOPE_BYTES;
    assert.equal(hex(frame.subarray(end, end + 4)), evidence.length.toString(16).padStart(8, '0'));
    assert.equal(Buffer.from(frame.subarray(end + 4)).toString(), evidence);
    const decoded = decodeReadFrame(frame);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.evidence, JSON.parse(evidence));
    assert.deepEqual([decoded.value.pages[0]!.index, decoded.value.pages[0]!.version, hex(decoded.value.pages[0]!.digest)], [3, 258, '5c'.repeat(32)]);
  });

  it('an empty read is a count of zero and the evidence', () => {
    const decoded = decodeReadFrame(encodeReadFrame([], { writes: [] }));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value, { pages: [], evidence: { writes: [] } });
  });

  it('refuses what is not exactly a frame, saying why', () => {
    const good = encodeWriteFrame([{ index: 1, envelope: envelope(1) }]);
    const refusals: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('{"pages":[]}'), /starts with "CPW" 0x01/],
      [good.subarray(0, 6), /starts with/],
      [good.subarray(0, good.length - 1), /is 4157 bytes .* not 4156/],
      [Uint8Array.from([...good, 0]), /not 4158/],
      [
        (() => {
          const big = good.slice();
          big.fill(0xff, 8, 16);
          return big;
        })(),
        /index is beyond/,
      ],
      [encodeReadFrame([], {}), /starts with "CPW"/],
    ];
    for (const [frame, reason] of refusals) {
      const decoded = decodeWriteFrame(frame);
      assert.equal(decoded.ok, false);
      assert.match((decoded as { reason: string }).reason, reason);
    }
    const read = encodeReadFrame([], { a: 1 });
    assert.match((decodeReadFrame(read.subarray(0, read.length - 1)) as { reason: string }).reason, /evidence is 7 bytes/);
    const notJson = read.slice();
    notJson[notJson.length - 1] = 0x7b;
    assert.match((decodeReadFrame(notJson) as { reason: string }).reason, /not JSON/);
    assert.throws(() => encodeWriteFrame([{ index: 1, envelope: new Uint8Array(10) }]), /4141 bytes/);
    assert.throws(() => encodeWriteFrame([{ index: -1, envelope: envelope(1) }]), /whole number/);
  });

  it('negotiates by Accept: frames only when preferred to JSON', () => {
    const cases: [string | undefined, boolean][] = [
      [undefined, false],
      ['application/json', false],
      ['*/*', false],
      ['application/octet-stream', true],
      ['application/octet-stream, application/json', true],
      ['application/json, application/octet-stream', false],
      ['application/json;q=0.5, application/octet-stream', true],
      ['application/octet-stream;q=0.2, */*', false],
      ['application/octet-stream;q=0', false],
    ];
    for (const [accept, frames] of cases) assert.equal(prefersFrames(accept), frames, String(accept));
  });
});
