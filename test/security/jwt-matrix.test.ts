/**
 * The JWT rejection matrix of docs/design.md §2 / RFC 8725: every way a token can be
 * wrong gets 401 (or 403 for a missing role) with its own stable code.
 */
import { env } from 'cloudflare:test';
import { CompactSign, SignJWT, base64url } from 'jose';
import { describe, expect, it } from 'vitest';
import { admin, call, expectStatus, mintToken, newSigner } from '../support/api';

const HOSTS = '/v1/admin/hosts';

async function expectRejected(token: string | undefined, status: number, code: string) {
  const res = await call('GET', HOSTS, token === undefined ? { as: null } : { token });
  expect(res.status).toBe(status);
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="custodes"/);
  const problem = await res.json<any>();
  expect(problem).toMatchObject({ status, code });
  expect(problem.requestId).toMatch(/^req_/);
  return problem;
}

/** Re-encodes a token's header and payload without a valid signature. */
function forge(header: object, payload: object, signature = ''): string {
  const enc = (o: object) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.${signature}`;
}

function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { iss: admin.id, sub: admin.id, aud: 'custodes', iat: now, exp: now + 300, jti: crypto.randomUUID(), ...overrides };
}

describe('token verification', () => {
  it('accepts a well-formed admin token', async () => {
    expect((await call('GET', HOSTS)).status).toBe(200);
  });

  it('rejects a missing bearer token', async () => {
    await expectRejected(undefined, 401, 'token_missing');
  });

  it('rejects garbage', async () => {
    await expectRejected('not-a-jwt', 401, 'token_malformed');
  });

  it('rejects alg none', async () => {
    await expectRejected(forge({ alg: 'none', kid: admin.kid }, claims()), 401, 'token_algorithm_not_allowed');
  });

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(admin.publicJwk));
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: admin.kid }).sign(secret);
    await expectRejected(token, 401, 'token_algorithm_not_allowed');
    const xSecret = base64url.decode(admin.publicJwk.x!);
    const token2 = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: admin.kid }).sign(xSecret);
    await expectRejected(token2, 401, 'token_algorithm_not_allowed');
  });

  it('rejects ES256 claimed for an Ed25519 key', async () => {
    const p256 = await newSigner(admin.id, 'ES256');
    await expectRejected(await mintToken(p256, { kid: admin.kid }), 401, 'token_algorithm_not_allowed');
  });

  it('rejects an expired token', async () => {
    await expectRejected(await mintToken(admin, { iatOffset: -900, lifetime: 600 }), 401, 'token_expired');
  });

  it('rejects nbf in the future', async () => {
    const nbf = Math.floor(Date.now() / 1000) + 600;
    await expectRejected(await mintToken(admin, { claims: { nbf } }), 401, 'token_not_yet_valid');
  });

  it('rejects iat in the future', async () => {
    await expectRejected(await mintToken(admin, { iatOffset: 600 }), 401, 'token_not_yet_valid');
  });

  it('rejects a lifetime over 15 minutes', async () => {
    await expectRejected(await mintToken(admin, { lifetime: 15 * 60 + 1 }), 401, 'token_lifetime_too_long');
  });

  it('accepts a lifetime of exactly 15 minutes', async () => {
    expect((await call('GET', HOSTS, { token: await mintToken(admin, { lifetime: 15 * 60 }) })).status).toBe(200);
  });

  it('rejects the wrong audience', async () => {
    await expectRejected(await mintToken(admin, { claims: { aud: 'someone-else' } }), 401, 'token_audience_invalid');
  });

  it('rejects an unknown kid', async () => {
    const stranger = await newSigner(admin.id);
    await expectRejected(await mintToken(stranger), 401, 'token_key_unknown');
  });

  it('rejects a tampered signature', async () => {
    const token = await mintToken(admin);
    const [h, p, s] = token.split('.');
    const flipped = s![0] === 'A' ? `B${s!.slice(1)}` : `A${s!.slice(1)}`;
    await expectRejected(`${h}.${p}.${flipped}`, 401, 'token_signature_invalid');
  });

  it('rejects a tampered payload', async () => {
    const token = await mintToken(admin);
    const [h, , s] = token.split('.');
    const payload = base64url.encode(JSON.stringify(claims({ scope: 'everything' })));
    await expectRejected(`${h}.${payload}.${s}`, 401, 'token_signature_invalid');
  });

  it('rejects a replayed jti', async () => {
    const token = await mintToken(admin);
    expect((await call('GET', HOSTS, { token })).status).toBe(200);
    await expectRejected(token, 401, 'token_replayed');
  });

  it('consumes a jti with the audit record: a replayed mutation changes nothing and is recorded as denied', async () => {
    const token = await mintToken(admin);
    const body = { name: 'replay-host', vcpus: 1, memoryMiB: 1024, diskGiB: 1 };
    const [first, second] = await Promise.all([
      call('POST', '/v1/admin/hosts', { token, body }),
      call('POST', '/v1/admin/hosts', { token, body: { ...body, name: 'replay-host-2' } }),
    ]);
    expect([first.status, second.status].sort()).toEqual([201, 401]);
    const refused = first.status === 401 ? first : second;
    expect((await refused.json<any>()).code).toBe('token_replayed');
    expect((await expectStatus(call('GET', HOSTS), 200)).hosts).toHaveLength(1);
    const { results } = await env.DB.prepare("SELECT outcome FROM audit_records WHERE action = 'host.create' ORDER BY idx").all<{ outcome: string }>();
    expect(results.map((r) => r.outcome).sort()).toEqual(['allowed', 'denied']);
  });

  it('rejects iss that does not own the key', async () => {
    await expectRejected(await mintToken(admin, { claims: { iss: 'adm_bootstrap2' } }), 401, 'token_claims_invalid');
  });

  it('rejects a token without jti or exp', async () => {
    const key = await import('jose').then((j) => j.importJWK(admin.privateJwk, 'EdDSA'));
    const { jti: _jti, ...noJti } = claims();
    await expectRejected(await new SignJWT(noJti).setProtectedHeader({ alg: 'EdDSA', kid: admin.kid }).sign(key), 401, 'token_claims_invalid');
    const { exp: _exp, ...noExp } = claims();
    await expectRejected(await new SignJWT(noExp).setProtectedHeader({ alg: 'EdDSA', kid: admin.kid }).sign(key), 401, 'token_claims_invalid');
  });

  it('rejects iss ≠ sub', async () => {
    await expectRejected(await mintToken(admin, { claims: { sub: 'adm_bootstrap2' } }), 401, 'token_claims_invalid');
  });

  it('rejects keys offered by the token itself (jwk, jku, x5u, x5c) and crit headers', async () => {
    const key = await import('jose').then((j) => j.importJWK(admin.privateJwk, 'EdDSA'));
    for (const extra of [
      { jwk: admin.publicJwk },
      { jku: 'https://attacker.example/jwks.json' },
      { x5u: 'https://attacker.example/cert.pem' },
      { x5c: ['MIIB'] },
      { crit: ['x-ext'], 'x-ext': 1 },
    ]) {
      const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims())))
        .setProtectedHeader({ alg: 'EdDSA', kid: admin.kid, ...extra } as never)
        .sign(key, { crit: { 'x-ext': true } });
      await expectRejected(token, 401, 'token_malformed');
    }
  });

  it('bounds the token and its ids (finding 3): oversize tokens, jti, sid and vms are refused, and no record holds them', async () => {
    const huge = await mintToken(admin, { claims: { padding: 'x'.repeat(100_000) } });
    const problem = await expectRejected(huge, 401, 'token_too_large');
    expect(problem.detail).toContain('4096');
    await expectRejected(await mintToken(admin, { claims: { jti: 'j'.repeat(129) } }), 401, 'token_claims_invalid');
    await expectRejected(await mintToken(admin, { claims: { jti: 'has spaces and ünïcode' } }), 401, 'token_claims_invalid');
    await expectRejected(await mintToken(admin, { claims: { sid: 's'.repeat(129) } }), 401, 'token_claims_invalid');
    await expectRejected(await mintToken(admin, { claims: { vms: ['not-a-vm-id'] } }), 401, 'token_claims_invalid');
    // Tenant A's owner reaching for tenant B with a 4 KiB token: B's log keeps a bounded record.
    const { createTenant, recordIn } = await import('../support/api');
    const [a, b] = [await createTenant(), await createTenant()];
    const res = await call('GET', `/v1/tenants/${b.tenant.id}/vms`, {
      token: await mintToken(a.owner, { claims: { jti: 'j'.repeat(128), padding: 'p'.repeat(2400) } }),
    });
    expect(res.status).toBe(404);
    const { record } = await recordIn(`tenants/${b.tenant.id}`, res);
    expect(JSON.stringify(record).length).toBeLessThan(1500);
  });

  it('accepts ES256 (P-256) principals', async () => {
    const signer = await newSigner('adm_p256', 'ES256');
    await env.DB.prepare('INSERT INTO admins (id, kid, jwk, roles) VALUES (?, ?, ?, ?)')
      .bind(signer.id, signer.kid, JSON.stringify(signer.publicJwk), JSON.stringify(['auditor']))
      .run();
    expect((await call('GET', HOSTS, { as: signer })).status).toBe(200);
  });
});

describe('authorization by role', () => {
  it('refuses an admin without the needed role (403 missing_role)', async () => {
    const auditor = await newSigner('adm_auditor_only');
    await env.DB.prepare('INSERT INTO admins (id, kid, jwk, roles) VALUES (?, ?, ?, ?)')
      .bind(auditor.id, auditor.kid, JSON.stringify(auditor.publicJwk), JSON.stringify(['auditor']))
      .run();
    // Reading metadata is an auditor's job...
    expect((await call('GET', HOSTS, { as: auditor })).status).toBe(200);
    // ...provisioning is not.
    const res = await call('POST', HOSTS, { as: auditor, body: { name: 'h-auditor', vcpus: 1, memoryMiB: 1024, diskGiB: 1 } });
    expect(res.status).toBe(403);
    const problem = await res.json<any>();
    expect(problem).toMatchObject({ code: 'missing_role', requiredRoles: ['provisioner'] });
    expect(res.headers.get('WWW-Authenticate')).toContain('insufficient_scope');
  });

  it('refuses a revoked admin key', async () => {
    const revoked = await newSigner('adm_revoked');
    await env.DB.prepare("INSERT INTO admins (id, kid, jwk, roles, state) VALUES (?, ?, ?, ?, 'revoked')")
      .bind(revoked.id, revoked.kid, JSON.stringify(revoked.publicJwk), JSON.stringify(['provisioner']))
      .run();
    await expectRejected(await mintToken(revoked), 401, 'token_key_unknown');
  });

  it('refuses a disabled admin and a revoked toolstack at once', async () => {
    const { admin2, approved, createTenant } = await import('../support/api');
    const ops = await newSigner('pending');
    const { change } = await approved(
      call('POST', '/v1/admin/admins', { body: { name: `ops-${crypto.randomUUID().slice(0, 6)}`, publicKey: ops.publicJwk, roles: ['auditor'] } }),
      admin2,
    );
    const opsSigner = { ...ops, id: change.target.id as string };
    expect((await call('GET', HOSTS, { as: opsSigner })).status).toBe(200);
    await expectStatus(call('POST', `/v1/admin/admins/${opsSigner.id}:disable`), 200);
    await expectRejected(await mintToken(opsSigner), 401, 'token_key_unknown');

    const { newToolstack } = await import('../support/tenant');
    const { tenant, owner } = await createTenant();
    const tsk = await newToolstack(tenant.id, owner, ['vm:read']);
    const list = `/v1/tenants/${tenant.id}/vms`;
    expect((await call('GET', list, { token: await mintToken(tsk, { claims: { scope: 'vm:read' } }) })).status).toBe(200);
    await expectStatus(call('DELETE', `/v1/tenants/${tenant.id}/toolstacks/${tsk.id}`, { as: owner }), 200);
    const res = await call('GET', list, { token: await mintToken(tsk, { claims: { scope: 'vm:read' } }) });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'token_key_unknown' });
  });

  it('refuses a tenant owner on admin routes', async () => {
    const { createTenant } = await import('../support/api');
    const { owner } = await createTenant();
    const res = await call('GET', HOSTS, { as: owner });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'principal_type_not_allowed' });
  });
});
