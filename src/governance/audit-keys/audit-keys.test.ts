/**
 * Audit key registration. Its own file: the registry is remembered per
 * isolate, so this must be the first request that isolate makes.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auditSigningKey } from '../../audit/signing/signing-key';
import { exportJWK, generateKeyPair } from 'jose';
import { admin2, app, call, expectStatus } from '../../../test/support/api';

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
    expect(jwks.keys.map((k) => [k.kid, k.status])).toEqual(
      expect.arrayContaining([
        ['old', 'retired'],
        [key.kid, 'active'],
      ]),
    );
  });

  it('rotates the key only through a change request: a key nobody approved never signs', async () => {
    const newKey = async () => (await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey)) as Record<string, string>;
    const publicOf = ({ kty, crv, x }: Record<string, string>) => ({ kty, crv, x });
    const records = async () => (await env.DB.prepare('SELECT count(*) AS n FROM audit_records').first<number>('n'))!;
    const health = (key: Record<string, string>) => app.request('/v1/health', {}, { ...env, AUDIT_SIGNING_JWK: JSON.stringify(key) });

    // The deployment's key is active (storage is per test: put its registry row back).
    const current = await auditSigningKey(env.AUDIT_SIGNING_JWK);
    await env.DB.prepare("INSERT OR IGNORE INTO audit_keys (kid, public_jwk, state, activated_at) VALUES (?, ?, 'active', '2026-01-01')")
      .bind(current.kid, JSON.stringify(current.publicJwk))
      .run();

    // Deployed without approval: refused, and nothing is recorded or signed with it.
    const rogue = await newKey();
    const before = await records();
    const refused = await health(rogue);
    expect(refused.status).toBe(503);
    expect((await refused.json()) as { code: string; detail: string }).toMatchObject({
      code: 'audit_unavailable',
      detail: expect.stringContaining('was not approved'),
    });
    expect(await records()).toBe(before);

    // Proposed by one security admin, approved by another.
    const next = await newKey();
    expect((await expectStatus(call('POST', '/v1/admin/audit/keys', { body: { publicKey: next } }), 400)).code).toBe('invalid_request'); // a private key is refused
    const change = await expectStatus(call('POST', '/v1/admin/audit/keys', { body: { publicKey: publicOf(next) } }), 202);
    expect(change).toMatchObject({ operation: 'audit.rotate', requiredRole: 'security', state: 'pending' });
    expect((await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`), 403)).code).toBe('self_approval');
    await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: admin2 }), 200);
    const kid = change.target.id as string;
    expect(await env.DB.prepare('SELECT state FROM audit_keys WHERE kid = ?').bind(kid).first('state')).toBe('approved');
    expect((await expectStatus(call('POST', '/v1/admin/audit/keys', { body: { publicKey: publicOf(next) } }), 409)).code).toBe('name_taken');

    // Deployed after approval: it activates itself, retiring the previous key, with a record.
    expect((await health(next)).status).toBe(200);
    const { results } = await env.DB.prepare('SELECT kid, state FROM audit_keys ORDER BY activated_at').all<{ kid: string; state: string }>();
    expect(results.filter((k) => k.state === 'active').map((k) => k.kid)).toEqual([kid]);
    const activation = await env.DB.prepare(
      "SELECT jws FROM audit_records WHERE log = 'provider' AND action = 'audit.key.activate' ORDER BY idx DESC LIMIT 1",
    ).first<string>('jws');
    expect(JSON.parse(Buffer.from(activation!.split('.')[1]!, 'base64url').toString())).toMatchObject({
      target: { id: kid },
      details: { approved: true, handover: { from: current.kid, change: change.id } },
    });
  });

  it('an approved key does not sign until the active key has signed its hand-over; the next reader of the hand-overs finishes one that was interrupted', async () => {
    const current = await auditSigningKey(env.AUDIT_SIGNING_JWK);
    await env.DB.prepare("INSERT OR IGNORE INTO audit_keys (kid, public_jwk, state, activated_at) VALUES (?, ?, 'active', '2026-01-01')")
      .bind(current.kid, JSON.stringify(current.publicJwk))
      .run();
    const next = (await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey)) as Record<string, string>;
    const change = await expectStatus(call('POST', '/v1/admin/audit/keys', { body: { publicKey: { kty: next.kty, crv: next.crv, x: next.x } } }), 202);
    await expectStatus(call('POST', `/v1/admin/changes/${change.id}:approve`, { as: admin2 }), 200);
    const kid = change.target.id as string;
    const handover = async () => env.DB.prepare('SELECT handover FROM audit_keys WHERE kid = ?').bind(kid).first<string | null>('handover');
    expect((await handover())!.split('\n\n')[1]!.trim().split('\n')).toHaveLength(1); // signed by the active key, right after the approval

    // As if the approval's Worker had died before signing: the new key refuses to take over.
    await env.DB.prepare('UPDATE audit_keys SET handover = NULL WHERE kid = ?').bind(kid).run();
    const health = () => app.request('/v1/health', {}, { ...env, AUDIT_SIGNING_JWK: JSON.stringify(next) });
    const refused = await health();
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/cannot take over: no hand-over was signed/);

    // Any reader of the hand-overs (served with the active key) signs it; then the new key activates and countersigns.
    const listed = await (await app.request('/v1/audit/key-handovers', {}, env)).json<{ handovers: { to: string; state: string }[] }>();
    expect(listed.handovers).toContainEqual(expect.objectContaining({ to: kid, state: 'approved' }));
    expect((await health()).status).toBe(200);
    expect((await handover())!.split('\n\n')[1]!.trim().split('\n')).toHaveLength(2);
  });
});
