/**
 * Audit key registration. Its own file: the registry is remembered per
 * isolate, so this must be the first request that isolate makes.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auditSigningKey } from '../src/audit/signing-key';
import { app, call } from './support/api';

describe('audit keys', () => {
  it('records the activation of the signing key and publishes retired keys', async () => {
    await call('GET', '/v1/health', { as: null });
    const key = await auditSigningKey(env.AUDIT_SIGNING_JWK);
    const { results } = await env.DB.prepare("SELECT jws FROM audit_records WHERE log = 'provider' AND action = 'audit.key.activate'").all<{ jws: string }>();
    expect(results).toHaveLength(1);
    const record = JSON.parse(Buffer.from(results[0]!.jws.split('.')[1]!, 'base64url').toString());
    expect(record).toMatchObject({ actor: { type: 'system' }, target: { type: 'audit-key', id: key.kid }, outcome: 'allowed' });
    // A key retired by an earlier rotation stays in the JWKS, so its records stay verifiable.
    await env.DB.prepare("INSERT INTO audit_keys (kid, public_jwk, state, activated_at, retired_at) VALUES ('old', ?, 'retired', '2026-01-01', '2026-06-01')")
      .bind(JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), kid: 'old' }))
      .run();
    const jwks = await (await app.request('/.well-known/jwks.json', {}, env)).json<{ keys: { kid: string; status: string }[] }>();
    expect(jwks.keys.map((k) => [k.kid, k.status])).toEqual(expect.arrayContaining([['old', 'retired'], [key.kid, 'active']]));
  });
});
