/**
 * lib/bytes.ts against RFC 4648 §10's vectors, on both of its paths: Node's
 * Buffer (as the Worker and the CLI run it) and the portable loops (as the
 * console runs it in a browser, where there is no Buffer). Both must give the
 * same text and refuse the same malformed input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as bytesModule from './bytes.ts';

const { utf8, fromUtf8 } = bytesModule;
const native = { ...bytesModule.bytesCodecs(Buffer), utf8, fromUtf8 };
const portable = { ...bytesModule.bytesCodecs(undefined), utf8, fromUtf8 };

// RFC 4648 §10.
const VECTORS: [string, string, string, string][] = [
  ['', '', '', ''],
  ['f', 'Zg==', 'Zg', '66'],
  ['fo', 'Zm8=', 'Zm8', '666f'],
  ['foo', 'Zm9v', 'Zm9v', '666f6f'],
  ['foob', 'Zm9vYg==', 'Zm9vYg', '666f6f62'],
  ['fooba', 'Zm9vYmE=', 'Zm9vYmE', '666f6f6261'],
  ['foobar', 'Zm9vYmFy', 'Zm9vYmFy', '666f6f626172'],
];

for (const [name, bytes] of [
  ['Buffer', native],
  ['portable', portable],
] as const) {
  describe(`lib/bytes (${name})`, () => {
    it('encodes and decodes the RFC 4648 vectors', () => {
      for (const [text, b64, b64url, hex] of VECTORS) {
        const raw = bytes.utf8(text);
        assert.equal(bytes.base64Of(raw), b64);
        assert.equal(bytes.base64urlOf(raw), b64url);
        assert.equal(bytes.hexOf(raw), hex);
        assert.equal(bytes.fromUtf8(bytes.base64ToBytes(b64)), text);
        assert.equal(bytes.fromUtf8(bytes.base64urlToBytes(b64url)), text);
        assert.equal(bytes.fromUtf8(bytes.hexToBytes(hex)), text);
      }
    });

    it('keeps every byte value, and - _ apart from + /', () => {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      assert.deepEqual(bytes.base64ToBytes(bytes.base64Of(all)), all);
      assert.deepEqual(bytes.base64urlToBytes(bytes.base64urlOf(all)), all);
      assert.deepEqual(bytes.hexToBytes(bytes.hexOf(all)), all);
      assert.equal(bytes.base64urlOf(Uint8Array.of(0xfb, 0xff)), '-_8');
      assert.equal(bytes.base64Of(Uint8Array.of(0xfb, 0xff)), '+/8=');
    });

    it('refuses text that is not exactly the encoding', () => {
      for (const bad of ['Zg', 'Zm9v!', '-_8=', 'Zg=a', 'Z']) assert.throws(() => bytes.base64ToBytes(bad), /not base64/, bad);
      for (const bad of ['+/8', 'Zg==', 'Z', 'ab cd']) assert.throws(() => bytes.base64urlToBytes(bad), /not base64url/, bad);
      for (const bad of ['abc', 'zz', '0x12']) assert.throws(() => bytes.hexToBytes(bad), /not hex/, bad);
      assert.throws(() => bytes.fromUtf8(Uint8Array.of(0xff)));
    });
  });
}
