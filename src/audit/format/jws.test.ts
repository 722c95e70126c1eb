/** `payloadMayHold`: never misses its text at any alignment, and rarely says "maybe" when the text is absent. */
import { describe, expect, it } from 'vitest';
import { base64urlOf, utf8 } from '../../lib/bytes';
import { payloadMayHold } from './jws';

const jwsOf = (payload: string) => `eyJhbGciOiJFZERTQSJ9.${base64urlOf(utf8(payload))}.c2ln`;

describe('payloadMayHold', () => {
  const mayBeSeal = payloadMayHold('"action":"access.');

  it('finds the text at every byte offset, with any bytes around it (multi-byte UTF-8 included)', () => {
    for (const prefix of ['', 'x', 'xy', 'xyz', '{"a":"é",', '{"ünï":"ç😀",']) {
      for (const suffix of ['', '}', ',"b":1}', '"😀"}']) {
        for (const action of ['access.sealed', 'access.reveal']) {
          expect(mayBeSeal(jwsOf(`${prefix}"action":"${action}"${suffix}`)), `${prefix}|${action}|${suffix}`).toBe(true);
        }
      }
    }
  });

  it('says no when the text is not there, at every alignment (a near miss at its last bytes may still be a "maybe")', () => {
    for (const prefix of ['', 'x', 'xy']) {
      for (const action of ['vm.list', 'memory.read', 'acc.sealed', 'audit.access']) {
        expect(mayBeSeal(jwsOf(`${prefix}{"action":"${action}","details":{"access":"read"}}`))).toBe(false);
      }
    }
  });
});
