import { describe, expect, it } from 'vitest';
import { checkpointBody, formatSignedNote, parseCheckpointBody, parseSignedNote, parseVerifierKey, verifierKey } from './note';

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
