/**
 * lib/bytes.ts against RFC 4648 §10's vectors, on both of its paths: Node's
 * Buffer (as the Worker and the CLI run it) and the portable loops (as the
 * console runs it in a browser, where there is no Buffer). Both must give the
 * same text and refuse the same malformed input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serialize } from 'node:v8';
import { asciiNote } from '../audit/log/commit.ts';

import * as bytesModule from './bytes.ts';

const { utf8, fromUtf8, oneByteString } = bytesModule;
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

describe('oneByteString', () => {
  // V8's own serializer names a string's form after its two header bytes (and any padding, 0x00): '"' (0x22) one byte a character, 'c' (0x63) two.
  const form = (text: string) => {
    const bytes = serialize(text);
    let at = 2;
    while (bytes[at] === 0) at++;
    return ({ 34: 'one-byte', 99: 'two-byte' } as Record<number, string>)[bytes[at]!] ?? 'other';
  };
  // ASCII text in two-byte form: a slice of a string that held a wider character keeps its form.
  const twoByteAscii = `custodes/tenants/t_1\n42\n${'A'.repeat(43)}=\n\u2014`.slice(0, -1);

  it('makes Latin-1 text one byte a character, whatever form it came in, and keeps every character', () => {
    assert.equal(form(twoByteAscii), 'two-byte', 'the case this exists for: ASCII text V8 holds two bytes a character');
    assert.equal(form(oneByteString(twoByteAscii)), 'one-byte');
    assert.equal(oneByteString(twoByteAscii), twoByteAscii);
    const latin1 = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i))
      .join('')
      .repeat(40); // past one fromCharCode call
    assert.equal(oneByteString(latin1), latin1);
    assert.equal(oneByteString(''), '');
  });

  it('refuses a character beyond Latin-1 rather than changing it', () => {
    assert.throws(() => oneByteString('note \u2014 key'), /U\+2014 at 5 is beyond Latin-1/);
  });

  it("is what a signed note is bound as: its dash escaped, one byte a character (D1's batch JSON stays one-byte)", () => {
    const note = `${twoByteAscii}\n\n\u2014 custodes.example/log ${'B'.repeat(88)}\n`;
    const bound = asciiNote(note);
    assert.equal(form(bound), 'one-byte');
    assert.equal(bound, note.replace('\u2014', '\\u2014'));
    assert.equal(form(asciiNote(twoByteAscii)), 'one-byte', 'a note with nothing to escape keeps no two-byte form either');
    assert.equal(
      asciiNote('origin \u00e9\u2192\n\u2014 k sig\n'),
      'origin \u00e9\u2192\n\\u2014 k sig\n',
      'another wide character is bound as it is, never refused',
    );
  });
});

describe('bytesOfStoredHex', () => {
  it("decodes SQLite's hex() (upper case) and lower case alike, every byte value, as Buffer does", () => {
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    const random = crypto.getRandomValues(new Uint8Array(4141));
    for (const bytes of [every, random, new Uint8Array(0)]) {
      const hex = Buffer.from(bytes).toString('hex');
      for (const text of [hex.toUpperCase(), hex]) assert.deepEqual(bytesModule.bytesOfStoredHex(text), new Uint8Array(bytes));
    }
  });
});
