/**
 * The audit log end to end: every route audits, into the right log, with the
 * data change and its record atomic; concurrency keeps indexes contiguous;
 * checkpoints cover responses; the offline verifier accepts honest logs and
 * catches every tampering.
 */
import { env } from 'cloudflare:test';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { app, admin, auditSource, call, createHost, createTenant, expectStatus, newSigner, recordIn, recordOf, unique } from './support/api';
import { verifyAuditLog } from '../src/sdk/audit-verify';
import { appendLeaf, EMPTY_FRONTIER, frontierRoot, leafHash, verifyInclusion, type Frontier } from '../src/audit/format/merkle';
import { signRecord } from '../src/audit/format/record';
import { auditSigningKey } from '../src/audit/signing/signing-key';
import { signCheckpoint } from '../src/audit/format/checkpoint';
import { openApiDocument } from '../src/app';

async function tenantWithVm() {
  await createHost({ vcpus: 64, memoryMiB: 65536 });
  const { tenant, owner } = await createTenant();
  const vm = await expectStatus(call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: unique('vm'), vcpus: 1, memoryMiB: 512 } }), 201);
  return { tenant, owner, vm };
}

const rowCount = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<number>('n'))!;

describe('every request is audited', () => {
  it('every registered /v1 route appends exactly one record with its request id', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const host = await createHost({ vcpus: 8, memoryMiB: 8192 });
    const ids: Record<string, string> = { host: host.id, tenant: tenant.id, vm: vm.id };
    const document = openApiDocument(app);
    // Outside /v1 (the JWKS) nothing is audited: it is public, static and cacheable.
    const operations = Object.entries(document.paths ?? {})
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, item]) => (['get', 'post', 'patch', 'delete'] as const).filter((m) => (item as any)[m]).map((m) => ({ path, method: m.toUpperCase() })));
    expect(operations.length).toBeGreaterThan(20);
    for (const { path, method } of operations) {
      // A harmless call: wrong-tenant or role-less principals are fine, we only need the request to be recorded.
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name]!);
      const as = path.startsWith('/v1/tenants/') ? owner : admin;
      const before = await rowCount('audit_records');
      const res = await call(method, concrete, { as, body: method === 'GET' || method === 'DELETE' ? undefined : {}, headers: { 'If-Match': '"999"' } });
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      const { record } = await recordOf(res);
      expect(record.requestId, `${method} ${path}`).toBe(res.headers.get('X-Request-Id'));
      expect(record.request).toEqual({ method, path: concrete });
      // One record; a refusal or failure about another's log is also in the caller's own (docs/decisions.md, "No ownership oracle").
      const appended = (await rowCount('audit_records')) - before;
      expect(res.ok ? [1] : [1, 2], `${method} ${path} appends ${appended}`).toContain(appended);
    }
  });

  it("lets a tenant read only its own log, and an admin only the provider's", async () => {
    const a = await createTenant();
    const b = await createTenant();
    expect((await call('GET', `/v1/tenants/${a.tenant.id}/audit/checkpoint`, { as: a.owner })).status).toBe(200);
    const other = await expectStatus(call('GET', `/v1/tenants/${a.tenant.id}/audit/records`, { as: b.owner }), 404);
    expect(other.code).toBe('not_found');
    expect((await expectStatus(call('GET', `/v1/tenants/${a.tenant.id}/audit/checkpoint`), 404)).code).toBe('not_found'); // even an admin
    expect((await expectStatus(call('GET', '/v1/admin/audit/checkpoint', { as: a.owner }), 403)).code).toBe('principal_type_not_allowed');
    expect((await expectStatus(call('GET', `/v1/tenants/${a.tenant.id}/audit/checkpoint`, { as: null }), 401)).code).toBe('token_missing');
    // Each refusal is itself in tenant a's log, and so is a's own refused try at the provider's log.
    const { results } = await env.DB.prepare("SELECT outcome FROM audit_records WHERE log = ? AND outcome = 'denied'").bind(`tenants/${a.tenant.id}`).all();
    expect(results).toHaveLength(4);
  });

  it('records unknown routes and malformed requests too', async () => {
    const res = await call('GET', '/v1/no-such-thing', { as: null });
    expect(res.status).toBe(404);
    const { log, record } = await recordOf(res);
    expect(log).toBe('provider');
    expect(record).toMatchObject({ action: 'route.unknown', outcome: 'denied', reason: 'route_not_found', status: 404 });
    const bad = await call('POST', '/v1/admin/hosts', { rawBody: '{oops' });
    expect((await recordOf(bad)).record).toMatchObject({ action: 'host.create', outcome: 'failed', reason: 'malformed_json' });
  });

  it("puts an admin's denied attempt on a tenant's VM in that tenant's log", async () => {
    const { tenant, vm } = await tenantWithVm();
    const auditor = await newSigner('adm_auditor');
    await env.DB.prepare('INSERT INTO admins (id, kid, jwk, roles) VALUES (?, ?, ?, ?)')
      .bind(auditor.id, auditor.kid, JSON.stringify(auditor.publicJwk), '["auditor"]')
      .run();
    const res = await call('DELETE', `/v1/admin/vms/${vm.id}`, { as: auditor });
    expect(res.status).toBe(403);
    // The admin's answer names its own log, the provider's; the tenant's log has the attempt too.
    expect((await recordOf(res)).log).toBe('provider');
    const { log, record } = await recordIn(`tenants/${tenant.id}`, res);
    expect(log).toBe(`tenants/${tenant.id}`);
    expect(record).toMatchObject({
      action: 'vm.delete',
      outcome: 'denied',
      reason: 'missing_role',
      target: { type: 'vm', id: vm.id },
      actor: { type: 'admin', id: 'adm_auditor', kid: auditor.kid },
    });
    const anonymous = await call('PATCH', `/v1/admin/vms/${vm.id}`, { as: null, body: { vcpus: 2 } });
    expect((await recordOf(anonymous)).log).toBe(`tenants/${tenant.id}`);
  });

  it('commits a change with its record, and a refused change with a failure record only', async () => {
    const { tenant, vm } = await tenantWithVm();
    const ok = await call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus: 2 } });
    expect(ok.status).toBe(200);
    expect((await recordOf(ok)).record).toMatchObject({ action: 'vm.resize', outcome: 'allowed', details: { to: { vcpus: 2 } } });
    const over = await call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus: 1000 } });
    expect(over.status).toBe(409);
    const { record } = await recordOf(over);
    expect(record).toMatchObject({ action: 'vm.resize', outcome: 'failed', reason: 'quota_exceeded' });
    expect(record.details).toBeUndefined();
    expect((await expectStatus(call('GET', `/v1/admin/vms/${vm.id}`), 200)).vcpus).toBe(2);
    // The tenant's log opens with its creation.
    const first = await env.DB.prepare('SELECT action FROM audit_records WHERE log = ? AND idx = 0').bind(`tenants/${tenant.id}`).first('action');
    expect(first).toBe('tenant.create');
  });
});

describe('ordering and coverage', () => {
  it('keeps 64 concurrent mutations on one tenant contiguous, with a root that recomputes', async () => {
    await createHost({ vcpus: 4096, memoryMiB: 1_048_576 });
    const { tenant, owner } = await createTenant({ vcpus: 4096, memoryMiB: 1_048_576 });
    const log = `tenants/${tenant.id}`;
    const responses = await Promise.all(
      Array.from({ length: 64 }, (_, i) => call('POST', `/v1/admin/tenants/${tenant.id}/vms`, { body: { name: `c-${i}`, vcpus: 1, memoryMiB: 128 } })),
    );
    expect(responses.every((r) => r.status === 201)).toBe(true);
    const indexes = (await Promise.all(responses.map(recordOf))).map((r) => r.index).sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: 64 }, (_, i) => i + 1)); // 0 is tenant.create
    const verified = await verifyAuditLog(auditSource(log, owner), { log });
    expect(verified.ok ? verified.checkpoint.size : verified.error).toBeGreaterThanOrEqual(65);
  });

  it('covers every mutating response by the checkpoint fetched right after it', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const log = `tenants/${tenant.id}`;
    for (const vcpus of [2, 3, 4]) {
      const res = await call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus } });
      const { index, record } = await recordOf(res);
      const note = await (await call('GET', `/v1/${log}/audit/checkpoint`, { as: owner })).text();
      const size = Number(note.split('\n')[1]);
      expect(size).toBeGreaterThan(index);
      const { proof } = await expectStatus(call('GET', `/v1/${log}/audit/proofs/inclusion?index=${index}&size=${size}`, { as: owner }), 200);
      const root = Buffer.from(note.split('\n')[2]!, 'base64');
      const payload = Buffer.from(JSON.stringify(record, null, 1)); // not the signed bytes: must NOT verify...
      expect(
        verifyInclusion(
          leafHash(payload),
          index,
          size,
          proof.map((p: string) => Buffer.from(p, 'hex')),
          root,
        ),
      ).toBe(false);
      const jws = await env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? AND idx = ?').bind(log, index).first<string>('jws');
      const leaf = leafHash(Buffer.from(jws!.split('.')[1]!, 'base64url')); // ...the signed payload bytes do
      expect(
        verifyInclusion(
          leaf,
          index,
          size,
          proof.map((p: string) => Buffer.from(p, 'hex')),
          root,
        ),
      ).toBe(true);
    }
  });

  it('verifies a checkpoint and its root with node:crypto alone', async () => {
    await tenantWithVm();
    const note = await (await call('GET', '/v1/admin/audit/checkpoint')).text();
    const vkey = await (await call('GET', '/v1/audit/log-key', { as: null })).text();
    // vkey = name+keyid+base64(0x01 ‖ key); note = body \n — name base64(keyid ‖ sig) \n
    const [name, keyIdHex] = vkey.split('+', 2);
    const keyB64 = vkey.slice(name!.length + keyIdHex!.length + 2); // base64 may contain '+'
    const rawKey = Buffer.from(keyB64!, 'base64').subarray(1);
    const expectedKeyId = createHash('sha256')
      .update(`${name}\n`)
      .update(Buffer.from([1]))
      .update(rawKey)
      .digest()
      .subarray(0, 4);
    expect(expectedKeyId.toString('hex')).toBe(keyIdHex);
    const [body, signatureLines] = [note.slice(0, note.lastIndexOf('\n\n') + 1), note.slice(note.lastIndexOf('\n\n') + 2)];
    const line = signatureLines
      .trim()
      .split('\n')
      .find((l) => l.startsWith(`\u2014 ${name} `))!;
    const sig = Buffer.from(line.split(' ')[2]!, 'base64');
    expect(sig.subarray(0, 4).toString('hex')).toBe(keyIdHex);
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: rawKey.toString('base64url') }, format: 'jwk' });
    expect(verify(null, Buffer.from(body), publicKey, sig.subarray(4))).toBe(true);
    expect(verify(null, Buffer.from(body.replace(/\n\d+\n/, '\n999\n')), publicKey, sig.subarray(4))).toBe(false);

    // The root, from the records, with a hand-written RFC 9162 tree.
    const [, sizeText, rootB64] = body.split('\n');
    const { results } = await env.DB.prepare("SELECT jws FROM audit_records WHERE log = 'provider' AND idx < ? ORDER BY idx")
      .bind(Number(sizeText))
      .all<{ jws: string }>();
    const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
    const mth = (leaves: Buffer[]): Buffer => {
      if (leaves.length === 1) return leaves[0]!;
      let k = 1;
      while (k * 2 < leaves.length) k *= 2;
      return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
    };
    const leaves = results.map((r) => sha(Buffer.from([0]), Buffer.from(r.jws.split('.')[1]!, 'base64url')));
    expect(mth(leaves).toString('base64')).toBe(rootB64);
  });
});

describe('offline verification catches tampering', () => {
  async function verifiedTenant() {
    const { tenant, owner, vm } = await tenantWithVm();
    for (const vcpus of [2, 3]) await expectStatus(call('PATCH', `/v1/admin/vms/${vm.id}`, { body: { vcpus } }), 200);
    const log = `tenants/${tenant.id}`;
    const source = auditSource(log, owner);
    const first = await verifyAuditLog(source, { log });
    if (!first.ok) throw new Error(first.error);
    return { log, source, state: first.state, size: first.checkpoint.size };
  }

  it('accepts an honest log, again and again', async () => {
    const { log, source, state } = await verifiedTenant();
    const again = await verifyAuditLog(source, { log, state });
    expect(again.ok ? again.previousSize : again.error).toBeGreaterThan(0);
  });

  it('an edited record', async () => {
    const { log, source, state } = await verifiedTenant();
    const row = await env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? AND idx = 1').bind(log).first<string>('jws');
    const [h, p, s] = row!.split('.');
    const edited = Buffer.from(Buffer.from(p!, 'base64url').toString().replace('"vm.create"', '"vm.read"')).toString('base64url');
    await env.DB.prepare('UPDATE audit_records SET jws = ? WHERE log = ? AND idx = 1').bind(`${h}.${edited}.${s}`, log).run();
    const result = await verifyAuditLog(source, { log, state });
    expect(result.ok ? 'accepted' : result.error).toMatch(/record 1: the signature does not verify/);
    const rootOnly = await verifyAuditLog(source, { log, checkSignatures: false });
    expect(rootOnly.ok ? 'accepted' : rootOnly.error).toMatch(/do not hash to the checkpoint root/);
  });

  it('a deleted last record', async () => {
    const { log, source, state } = await verifiedTenant();
    const { size } = (await env.DB.prepare('SELECT size FROM audit_logs WHERE log = ?').bind(log).first<{ size: number }>())!;
    await env.DB.prepare('DELETE FROM audit_records WHERE log = ? AND idx = ?')
      .bind(log, size - 1)
      .run();
    const result = await verifyAuditLog(source, { log, state });
    expect(result.ok ? 'accepted' : result.error).toMatch(/record \d+ is missing/);
  });

  it('two swapped records', async () => {
    const { log, source, state } = await verifiedTenant();
    const [a, b] = await Promise.all(
      [1, 2].map((i) => env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? AND idx = ?').bind(log, i).first<string>('jws')),
    );
    await env.DB.batch([
      env.DB.prepare('UPDATE audit_records SET jws = ? WHERE log = ? AND idx = 1').bind(b, log),
      env.DB.prepare('UPDATE audit_records SET jws = ? WHERE log = ? AND idx = 2').bind(a, log),
    ]);
    const result = await verifyAuditLog(source, { log, state });
    expect(result.ok ? 'accepted' : result.error).toMatch(/record 1: it says it is record 2/);
  });

  it('a whole log rebuilt and re-signed without one record (caught through the saved checkpoint)', async () => {
    const { log, source, state } = await verifiedTenant();
    // The provider holds the signing key: it re-signs everything but record 1, renumbered.
    const key = await auditSigningKey(env.AUDIT_SIGNING_JWK);
    const { results } = await env.DB.prepare('SELECT jws FROM audit_records WHERE log = ? ORDER BY idx').bind(log).all<{ jws: string }>();
    const kept = results.filter((_, i) => i !== 1).map((r) => JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString()));
    let frontier: Frontier = EMPTY_FRONTIER;
    const statements = [env.DB.prepare('DELETE FROM audit_records WHERE log = ?').bind(log), env.DB.prepare('DELETE FROM audit_nodes WHERE log = ?').bind(log)];
    for (const [index, record] of kept.entries()) {
      const { jws, payload } = await signRecord({ ...record, index }, key);
      const step = appendLeaf(frontier, leafHash(payload));
      frontier = step.frontier;
      for (const n of step.completed) {
        statements.push(
          env.DB.prepare('INSERT INTO audit_nodes (log, level, idx, hash) VALUES (?, ?, ?, ?)').bind(
            log,
            n.level,
            n.index,
            Buffer.from(n.hash).toString('hex'),
          ),
        );
      }
      statements.push(
        env.DB.prepare('INSERT INTO audit_records (log, idx, jws, time, action, actor_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)').bind(
          log,
          index,
          jws,
          record.time,
          record.action,
          record.actor.id,
          record.outcome,
        ),
      );
    }
    const root = frontierRoot(frontier);
    const checkpoint = await signCheckpoint(log, frontier.size, root, key);
    const hashes = JSON.stringify(frontier.hashes.map((h) => Buffer.from(h).toString('hex')));
    statements.push(
      env.DB.prepare('UPDATE audit_logs SET size = ?, root = ?, frontier = ?, checkpoint = ? WHERE log = ?').bind(
        frontier.size,
        Buffer.from(root).toString('hex'),
        hashes,
        checkpoint,
        log,
      ),
    );
    await env.DB.batch(statements);

    const fresh = await verifyAuditLog(source, { log }); // a verifier with no memory is fooled...
    expect(fresh.ok).toBe(true);
    const remembered = await verifyAuditLog(source, { log, state }); // ...one with its saved checkpoint is not
    expect(remembered.ok ? 'accepted' : remembered.error).toMatch(/rollback|rewritten/);
  });
});
