import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/audit/canonical-json';
import { checkpointBody, formatSignedNote, parseCheckpointBody, parseSignedNote, parseVerifierKey, verifierKey } from '../src/audit/note';

describe('C2SP signed notes and checkpoints', () => {
  it('round-trips a verifier key whose base64 contains "+"', () => {
    const publicKey = new Uint8Array(32).fill(0xfb);
    const vkey = verifierKey('custodes-audit', publicKey);
    expect(vkey.split('+').length).toBeGreaterThan(3);
    const parsed = parseVerifierKey(vkey);
    expect(parsed.name).toBe('custodes-audit');
    expect([...parsed.publicKey]).toEqual([...publicKey]);
    expect(() => parseVerifierKey(vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'))).toThrow(/does not match/);
  });

  it('formats and parses checkpoints and notes', () => {
    const body = checkpointBody({ origin: 'custodes/provider', size: 42, root: new Uint8Array(32).fill(7) });
    expect(body).toBe(`custodes/provider\n42\n${Buffer.alloc(32, 7).toString('base64')}\n`);
    expect(parseCheckpointBody(body).size).toBe(42);
    const note = formatSignedNote(body, [{ name: 'k', keyId: Uint8Array.of(1, 2, 3, 4), signature: new Uint8Array(64).fill(9) }]);
    expect(note.startsWith(`${body}\n\u2014 k `)).toBe(true);
    const parsed = parseSignedNote(note);
    expect(parsed.body).toBe(body);
    expect([...parsed.signatures[0]!.keyId]).toEqual([1, 2, 3, 4]);
    expect(() => parseCheckpointBody('custodes/provider\n-1\nAAAA\n')).toThrow();
    expect(() => parseSignedNote('no signatures\n')).toThrow();
  });
});

describe('RFC 8785 canonical JSON', () => {
  it('sorts members by UTF-16 code units and serializes like ECMAScript', () => {
    // RFC 8785 §3.2.3 sorting example keys.
    const value = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    // Read the keys off the text: Object.keys would put the integer-like "1" first.
    const keys = [...canonicalJson(value).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    expect(keys).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
    expect(canonicalJson({ b: [1, 'x', null, true], a: { d: 1e21, c: -0 } })).toBe('{"a":{"c":0,"d":1e+21},"b":[1,"x",null,true]}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
  });
});
