/**
 * Tokens minted on Node are signed by node:crypto (keys.ts), elsewhere by
 * jose over WebCrypto: the API verifies both with jose, so both must be the
 * same compact JWS — header, claims and signature encoding (RFC 7515, RFC 7518 §3.4).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { generatePrincipalKey, keyId, mintToken, publicKeyOf, type SigningAlgorithm } from './keys';

describe('mintToken', () => {
  for (const alg of ['EdDSA', 'ES256'] as SigningAlgorithm[]) {
    it(`${alg}: a token from a private JWK (node:crypto) and from an imported key (WebCrypto) verify alike`, async () => {
      const jwk = await generatePrincipalKey(alg);
      const verifyingKey = await importJWK(publicKeyOf(jwk), alg);
      const imported = { cryptoKey: (await importJWK(jwk, alg)) as CryptoKey, kid: await keyId(jwk), alg };
      const request = {
        principal: 'tsk_one',
        scope: ['vm:read', 'memory:read'],
        vms: ['vm_a'],
        session: 'ses_x',
        ttlSeconds: 120,
        clock: () => 1_800_000_000_000,
      };
      for (const key of [jwk, imported]) {
        const token = await mintToken({ ...request, key });
        assert.deepEqual(decodeProtectedHeader(token), { alg, kid: await keyId(jwk), typ: 'JWT' });
        const { payload } = await jwtVerify(token, verifyingKey, { audience: 'custodes', issuer: 'tsk_one', currentDate: new Date(1_800_000_010_000) });
        const { jti, ...claims } = payload;
        assert.match(String(jti), /^[0-9a-f-]{36}$/);
        assert.deepEqual(claims, {
          scope: 'vm:read memory:read',
          vms: ['vm_a'],
          sid: 'ses_x',
          iss: 'tsk_one',
          sub: 'tsk_one',
          aud: 'custodes',
          iat: 1_800_000_000,
          exp: 1_800_000_120,
        });
      }
      const [one, two] = await Promise.all([mintToken({ ...request, key: jwk }), mintToken({ ...request, key: jwk })]);
      assert.notEqual(one, two, 'a fresh jti each time');
      const forged = `${one.slice(0, one.lastIndexOf('.'))}.${two.slice(two.lastIndexOf('.') + 1)}`;
      await assert.rejects(jwtVerify(forged, verifyingKey, { currentDate: new Date(1_800_000_010_000) }));
    });
  }
});
