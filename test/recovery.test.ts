/**
 * Exposure and intrusion recovery (issue 5, docs/design.md §6): the scenarios of the
 * acceptance list, driven through the API with sessions of single-use tokens
 * that share a `sid`, as the SDK mints them.
 */
import { describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../src/sdk/audit-verify';
import { env } from 'cloudflare:test';
import { auditSource, call, expectStatus, mintToken } from './support/api';
import { readPages, session, writePages, type Session } from './support/sessions';
import { fakeEnvelope, newToolstack, tenantWithVm } from './support/tenant';

const ALL = ['memory:read', 'memory:write', 'snapshot', 'labels', 'recovery', 'audit:read', 'vm:control'];

async function scene() {
  const { tenant, owner, vm } = await tenantWithVm();
  const legit = await newToolstack(tenant.id, owner, ALL);
  const attacker = await newToolstack(tenant.id, owner, ['memory:read', 'memory:write']);
  const ownerSession = session(owner);
  const plan = async (body: unknown) => expectStatus(call('POST', `/v1/tenants/${tenant.id}/recovery/plans`, { token: await ownerSession.token(), body }), 201);
  const apply = (id: string, verb: 'apply' | 'revert' = 'apply') =>
    call('POST', `/v1/tenants/${tenant.id}/recovery/plans/${id}:${verb}`, { token: undefined, as: owner });
  const contents = async (start = 0, count = 32) => (await readPages(ownerSession, tenant.id, vm.id, start, count)).pages;
  return { tenant, owner, vm, legit, attacker, ownerSession, plan, apply, contents };
}

const envelopes = (n: number) => Array.from({ length: n }, fakeEnvelope);

describe('undo', () => {
  it('rolls attacked pages back to their latest untainted version, and a later legitimate write survives', async () => {
    const { tenant, vm, legit, attacker, plan, apply, contents } = await scene();
    const e = envelopes(6);
    const l1 = session(legit);
    await writePages(l1, tenant.id, vm.id, { 0: e[0]!, 1: e[1]!, 2: e[2]! });
    const attack = await writePages(session(attacker), tenant.id, vm.id, { 1: e[3]!, 2: e[4]! });
    const later = await writePages(session(legit), tenant.id, vm.id, { 2: e[5]! }); // legitimate, after the attack

    const undo = await plan({ mode: 'undo', seeds: { actors: [attacker.id] } });
    expect(undo).toMatchObject({ mode: 'undo', state: 'planned', taintedActions: [attack.auditIndex], sessions: [], disclosures: [] });
    expect(undo.changes).toEqual([{ target: vm.id, space: 'memory', index: 1, fromVersion: 2, toVersion: 1 }]);
    expect(later.pages[0]!.version).toBe(3);

    const applied = await expectStatus(apply(undo.id), 200);
    expect(applied.plan.state).toBe('applied');
    const now = await contents();
    expect([now.get(0)?.envelope, now.get(1)?.envelope, now.get(2)?.envelope]).toEqual([e[0], e[1], e[5]]);
    expect(now.get(1)?.version).toBe(1);
  });

  it('taints a session that read attacker-written data from that read on, and only that session', async () => {
    const { tenant, vm, legit, attacker, plan } = await scene();
    const e = envelopes(6);
    await writePages(session(legit), tenant.id, vm.id, { 6: e[0]! });
    const attack = await writePages(session(attacker), tenant.id, vm.id, { 5: e[1]! });
    const victim = session(legit);
    const earlier = await writePages(victim, tenant.id, vm.id, { 8: e[2]! }); // before its read: stays
    const read = await readPages(victim, tenant.id, vm.id, 4, 4); // reads the attacker's page 5
    const derived = await writePages(victim, tenant.id, vm.id, { 6: e[3]! });
    const bystander = await writePages(session(legit), tenant.id, vm.id, { 7: e[4]! });

    const undo = await plan({ mode: 'undo', seeds: { actors: [attacker.id] } });
    expect(undo.taintedActions).toEqual([attack.auditIndex, read.auditIndex, derived.auditIndex]);
    expect(undo.taintedActions).not.toContain(earlier.auditIndex);
    expect(undo.taintedActions).not.toContain(bystander.auditIndex);
    expect(undo.sessions).toEqual([{ session: victim.sid, from: read.auditIndex }]);
    expect(undo.changes).toEqual([
      { target: vm.id, space: 'memory', index: 5, fromVersion: 1, toVersion: 0 },
      { target: vm.id, space: 'memory', index: 6, fromVersion: 2, toVersion: 1 },
    ]);
  });

  it('taints the restore of a snapshot that holds tainted data (and only the tainted pages)', async () => {
    const { tenant, vm, legit, attacker, ownerSession, plan, apply, contents } = await scene();
    const e = envelopes(4);
    await writePages(session(legit), tenant.id, vm.id, { 0: e[0]!, 3: e[1]! });
    await writePages(session(attacker), tenant.id, vm.id, { 3: e[2]! });
    const snap = await expectStatus(
      call('POST', `/v1/tenants/${tenant.id}/snapshots`, { token: await ownerSession.token(), body: { vm: vm.id, name: 'after-attack' } }),
      201,
    );
    await writePages(session(legit), tenant.id, vm.id, { 3: e[3]! });
    await expectStatus(call('POST', `/v1/tenants/${tenant.id}/vms/${vm.id}:stop`, { token: await ownerSession.token() }), 200);
    const restored = await expectStatus(call('POST', `/v1/tenants/${tenant.id}/snapshots/${snap.id}:restore`, { token: await ownerSession.token() }), 200);
    const copy = restored.pages.find((p: { index: number }) => p.index === 3).version;
    expect(copy).toBe(4);

    const undo = await plan({ mode: 'undo', seeds: { actors: [attacker.id] } });
    // The restore itself is legitimate; the copy it made of the attacker's version is tainted.
    expect(undo.taintedActions).toHaveLength(1);
    expect(undo.taintedVersions).toEqual(
      expect.arrayContaining([
        { space: 'memory', resource: vm.id, index: 3, version: 2 },
        { space: 'memory', resource: vm.id, index: 3, version: 4 },
      ]),
    );
    expect(undo.changes).toEqual([{ target: vm.id, space: 'memory', index: 3, fromVersion: 4, toVersion: 3 }]);
    await expectStatus(apply(undo.id), 200);
    const now = await contents();
    expect([now.get(0)?.envelope, now.get(3)?.envelope]).toEqual([e[0], e[3]]);
  });

  it("lists the attack's reads as disclosures, and the exposure report shows the labelled secret as read", async () => {
    const { tenant, owner, vm, legit, attacker, ownerSession, plan } = await scene();
    const e = envelopes(3);
    await writePages(session(legit), tenant.id, vm.id, { 10: e[0]!, 11: e[1]!, 20: e[2]! });
    const label = await expectStatus(
      call('PUT', `/v1/tenants/${tenant.id}/labels/tls-key`, { token: await ownerSession.token(), body: { space: 'memory', vm: vm.id, start: 10, count: 2 } }),
      201,
    );
    expect(label).toMatchObject({ name: 'tls-key', space: 'memory', vm: vm.id, start: 10, count: 2, revision: 1 });
    await expectStatus(call('PUT', `/v1/tenants/${tenant.id}/labels/other`, { as: owner, body: { space: 'memory', vm: vm.id, start: 20, count: 1 } }), 201);
    const thief = session(attacker);
    const stolen = await readPages(thief, tenant.id, vm.id, 8, 4);

    const undo = await plan({ mode: 'undo', seeds: { tokens: [thief.sid] } });
    expect(undo.taintedActions).toEqual([stolen.auditIndex]);
    expect(undo.changes).toEqual([]); // reads change nothing; they cannot be undone either
    expect(undo.disclosures).toEqual([
      {
        auditIndex: stolen.auditIndex,
        time: expect.any(String),
        actor: { type: 'toolstack', id: attacker.id },
        jti: expect.any(String),
        pages: [10, 11].map((index) => ({ space: 'memory', resource: vm.id, index, version: 1 })),
      },
    ]);

    const report = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/exposure`, { token: await ownerSession.token() }), 200);
    const tls = report.labels.find((l: { name: string }) => l.name === 'tls-key');
    expect(tls).toMatchObject({ exposed: true, space: 'memory', vm: vm.id });
    expect(tls.reads).toEqual([
      {
        auditIndex: stolen.auditIndex,
        time: expect.any(String),
        actor: { type: 'toolstack', id: attacker.id },
        toolstack: attacker.id,
        jti: undo.disclosures[0].jti,
        session: thief.sid,
        rotatedAt: null,
        pages: [
          { index: 10, version: 1 },
          { index: 11, version: 1 },
        ],
      },
    ]);
    expect(report.labels.find((l: { name: string }) => l.name === 'other')).toMatchObject({ exposed: false, reads: [] });
    // Filters: another actor, or a window before the read, show nothing.
    const filtered = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/exposure?label=tls-key&actor=${legit.id}`, { as: owner }), 200);
    expect(filtered.labels).toEqual([expect.objectContaining({ name: 'tls-key', exposed: false, reads: [] })]);
    const before = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/exposure?label=tls-key&to=2000-01-01T00:00:00Z`, { as: owner }), 200);
    expect(before.labels[0].reads).toEqual([]);
    // Paged by label name like every list: one label a page, each page's token leads to the next, the last has none.
    const first = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/exposure?pageSize=1`, { as: owner }), 200);
    expect(first.labels.map((l: { name: string }) => l.name)).toEqual(['other']);
    const second = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/exposure?pageSize=1&pageToken=${first.nextPageToken}`, { as: owner }), 200);
    expect(second.labels).toEqual([tls]);
    expect(second.nextPageToken).toBeUndefined();
    // A token is bound to its filter: reused under another, it is refused.
    expect(
      (await expectStatus(call('GET', `/v1/tenants/${tenant.id}/exposure?pageSize=1&actor=${legit.id}&pageToken=${first.nextPageToken}`, { as: owner }), 400))
        .code,
    ).toBe('invalid_page_token');
  });
});

describe('applying and reverting', () => {
  it('reverting an applied plan restores the pre-recovery state exactly; each step is audited and the log verifies', async () => {
    const { tenant, owner, vm, legit, attacker, plan, apply, contents } = await scene();
    const e = envelopes(5);
    await writePages(session(legit), tenant.id, vm.id, { 0: e[0]!, 1: e[1]! });
    await writePages(session(attacker), tenant.id, vm.id, { 1: e[2]!, 2: e[3]! }); // page 2 was unwritten before
    const before = await contents();

    const undo = await plan({ mode: 'undo', seeds: { actors: [attacker.id] } });
    const applied = await apply(undo.id);
    const { auditIndex } = await expectStatus(applied.clone(), 200);
    expect((await contents()).has(2)).toBe(false);
    expect((await expectStatus(apply(undo.id), 409)).code).toBe('invalid_state'); // applied once only

    const reverted = await expectStatus(apply(undo.id, 'revert'), 200);
    expect(reverted.plan.state).toBe('reverted');
    expect(await contents()).toEqual(before);
    expect((await expectStatus(apply(undo.id, 'revert'), 409)).code).toBe('invalid_state');

    const records = (await expectStatus(call('GET', `/v1/tenants/${tenant.id}/audit/records?from=${auditIndex}&limit=10`, { as: owner }), 200)).records;
    const decode = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString());
    const decoded = records.map((r: { jws: string }) => decode(r.jws));
    const applyRecord = decoded.find((r: { action: string; outcome: string }) => r.action === 'recovery.apply' && r.outcome === 'allowed');
    const revertRecord = decoded.find((r: { action: string; outcome: string }) => r.action === 'recovery.revert' && r.outcome === 'allowed');
    expect(decoded.filter((r: { action: string; outcome: string }) => r.action.startsWith('recovery.') && r.outcome !== 'allowed')).toHaveLength(2); // the refused second apply and revert
    expect(applyRecord).toMatchObject({ action: 'recovery.apply', outcome: 'allowed', target: { type: 'recovery_plan', id: undo.id } });
    expect(applyRecord.regions).toEqual([
      { space: 'memory', resource: vm.id, index: 1, version: 1, digest: expect.stringMatching(/^sha256:/), access: 'rollback' },
      { space: 'memory', resource: vm.id, index: 2, version: 0, digest: null, access: 'rollback' },
    ]);
    expect(revertRecord).toMatchObject({ action: 'recovery.revert', outcome: 'allowed' });
    const verified = await verifyAuditLog(auditSource(`tenants/${tenant.id}`, owner), { log: `tenants/${tenant.id}` });
    expect(verified.ok).toBe(true);
  });

  it('refuses a plan whose pages moved since it was made, changing nothing', async () => {
    const { tenant, vm, legit, attacker, plan, apply, contents } = await scene();
    const e = envelopes(3);
    await writePages(session(legit), tenant.id, vm.id, { 0: e[0]! });
    await writePages(session(attacker), tenant.id, vm.id, { 0: e[1]! });
    const undo = await plan({ mode: 'undo', seeds: { actors: [attacker.id] } });
    await writePages(session(legit), tenant.id, vm.id, { 0: e[2]! });
    const before = await contents();
    expect((await expectStatus(apply(undo.id), 409)).code).toBe('plan_stale');
    expect(await contents()).toEqual(before);
    expect(
      (
        await expectStatus(
          call('GET', `/v1/tenants/${tenant.id}/recovery/plans/${undo.id}`, {
            as: undefined,
            token: await mintToken(legit, { claims: { scope: 'recovery' } }),
          }),
          200,
        )
      ).state,
    ).toBe('planned');
  });

  it('never rolls a page forward onto a version an earlier applied plan undid', async () => {
    const { tenant, vm, legit, attacker, plan, apply, contents } = await scene();
    const e = envelopes(3);
    await writePages(session(legit), tenant.id, vm.id, { 0: e[0]! });
    const first = await writePages(session(attacker), tenant.id, vm.id, { 0: e[1]! });
    const second = await writePages(session(attacker), tenant.id, vm.id, { 0: e[2]! });
    await expectStatus(apply((await plan({ mode: 'undo', seeds: { actions: [second.auditIndex] } })).id), 200);
    expect((await contents()).get(0)?.version).toBe(2); // the first attack write was not named yet
    const next = await plan({ mode: 'undo', seeds: { actions: [first.auditIndex] } });
    expect(next.changes).toEqual([{ target: vm.id, space: 'memory', index: 0, fromVersion: 2, toVersion: 1 }]);
  });
});

describe('replay', () => {
  it("denies the revoked principal's later actions and reports legitimate actions that read its data as conflicts", async () => {
    const { tenant, vm, legit, attacker, plan } = await scene();
    const e = envelopes(4);
    const early = await writePages(session(attacker), tenant.id, vm.id, { 0: e[0]! }); // before the revocation instant
    await new Promise((r) => setTimeout(r, 5));
    const from = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const attack = await writePages(session(attacker), tenant.id, vm.id, { 1: e[1]! });
    const reader: Session = session(legit);
    const read = await readPages(reader, tenant.id, vm.id, 1, 1);
    const derived = await writePages(reader, tenant.id, vm.id, { 2: e[2]! });

    const replay = await plan({ mode: 'replay', patch: { revoke: [{ principal: attacker.id, from }] } });
    expect(replay.taintedActions).toEqual([attack.auditIndex]);
    expect(replay.taintedActions).not.toContain(early.auditIndex);
    expect(replay.conflicts).toEqual([
      { auditIndex: read.auditIndex, actor: legit.id, session: reader.sid, missing: [{ space: 'memory', resource: vm.id, index: 1, version: 1 }] },
    ]);
    // Replay keeps the legitimate write (its author must review it); undo would roll it back.
    expect(replay.changes).toEqual([{ target: vm.id, space: 'memory', index: 1, fromVersion: 1, toVersion: 0 }]);
    expect(derived.pages[0]!.version).toBe(1);
  });
});

describe('labels and plans as resources', () => {
  it('labels: create, replace, list, get, delete, with 4xx problems for bad input', async () => {
    const { tenant, owner, vm } = await scene();
    const path = (name: string) => `/v1/tenants/${tenant.id}/labels/${name}`;
    await expectStatus(call('PUT', path('a'), { as: owner, body: { space: 'memory', vm: vm.id, start: 0, count: 1 } }), 201);
    const replaced = await expectStatus(call('PUT', path('a'), { as: owner, body: { space: 'memory', vm: vm.id, start: 4, count: 2 } }), 200);
    expect(replaced).toMatchObject({ start: 4, count: 2, revision: 2 });
    await expectStatus(call('PUT', path('b'), { as: owner, body: { space: 'memory', vm: vm.id, start: 0, count: 1 } }), 201);
    const page1 = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/labels?pageSize=1`, { as: owner }), 200);
    expect(page1.labels.map((l: { name: string }) => l.name)).toEqual(['a']);
    const page2 = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/labels?pageSize=1&pageToken=${page1.nextPageToken}`, { as: owner }), 200);
    expect(page2.labels.map((l: { name: string }) => l.name)).toEqual(['b']);
    await expectStatus(call('DELETE', path('b'), { as: owner }), 204);
    expect((await expectStatus(call('GET', path('b'), { as: owner }), 404)).code).toBe('not_found');

    const bad: [unknown, number, string][] = [
      [{ space: 'memory', vm: vm.id, start: 32767, count: 2 }, 400, 'index_out_of_range'], // 128 MiB = 32768 pages
      [{ space: 'memory', vm: vm.id, start: 0, count: 0 }, 400, 'invalid_request'],
      [{ space: 'memory', disk: vm.id, start: 0, count: 1 }, 400, 'invalid_request'],
      [{ space: 'tape', vm: vm.id, start: 0, count: 1 }, 400, 'invalid_request'],
      [{ space: 'memory', vm: 'vm_00000000000000000000000000', start: 0, count: 1 }, 404, 'not_found'],
    ];
    for (const [body, status, code] of bad) expect((await expectStatus(call('PUT', path('c'), { as: owner, body }), status)).code).toBe(code);
    expect((await expectStatus(call('PUT', path('Not_A_Name'), { as: owner, body: bad[1]![0] }), 400)).code).toBe('invalid_request');
  });

  it('plans: bad requests get 400 problems; plans list newest first; the scopes are enforced', async () => {
    const { tenant, owner, vm, legit, attacker, plan } = await scene();
    const plans = `/v1/tenants/${tenant.id}/recovery/plans`;
    for (const body of [
      { mode: 'undo', seeds: {} },
      { mode: 'undo' },
      { mode: 'redo', seeds: { actors: ['x'] } },
      { mode: 'replay', patch: { revoke: [] } },
      { mode: 'replay', patch: { revoke: [{ principal: 'x', from: 'yesterday' }] } },
    ]) {
      expect((await expectStatus(call('POST', plans, { as: owner, body }), 400)).code).toBe('invalid_request');
    }
    // Seeds that name nothing are refused, not answered with an empty plan.
    const nothing = await expectStatus(
      call('POST', plans, { as: owner, body: { mode: 'undo', seeds: { actors: [attacker.id], tokens: ['no-such-session'] } } }),
      422,
    );
    expect(nothing).toMatchObject({ code: 'seeds_match_nothing', logSize: expect.any(Number) });
    await writePages(session(attacker), tenant.id, vm.id, { 0: fakeEnvelope() });
    const a = await plan({ mode: 'undo', seeds: { actors: [attacker.id] } });
    const b = await plan({ mode: 'replay', patch: { revoke: [{ principal: attacker.id, from: '2000-01-01T00:00:00+01:00' }] } });
    expect(b.request.patch.revoke[0].from).toBe('1999-12-31T23:00:00.000Z');
    const listed = await expectStatus(call('GET', plans, { as: owner }), 200);
    expect(listed.plans.map((p: { id: string }) => p.id)).toEqual([b.id, a.id]);
    expect(
      (
        await expectStatus(
          call('POST', plans, { token: await mintToken(legit, { claims: { scope: 'memory:read' } }), body: { mode: 'undo', seeds: { actors: ['x'] } } }),
          403,
        )
      ).code,
    ).toBe('missing_scope');
    expect(
      (await expectStatus(call('GET', `/v1/tenants/${tenant.id}/exposure`, { token: await mintToken(legit, { claims: { scope: 'labels' } }) }), 403)).code,
    ).toBe('missing_scope');
  });
});

describe('the information-flow index', () => {
  it('holds exactly the reads and writes of the signed records, disks included, with each session', async () => {
    const { tenant, owner, vm, legit, ownerSession } = await scene();
    const s = session(legit);
    await writePages(s, tenant.id, vm.id, { 1: fakeEnvelope(), 2: fakeEnvelope() });
    await readPages(s, tenant.id, vm.id, 0, 4);
    const disk = await expectStatus(call('POST', `/v1/tenants/${tenant.id}/disks`, { as: owner, body: { name: 'data', sizeGiB: 1 } }), 201);
    const blocks = `/v1/tenants/${tenant.id}/disks/${disk.id}/blocks`;
    await expectStatus(call('PUT', blocks, { token: await ownerSession.token(), body: { pages: [{ index: 9, envelope: fakeEnvelope() }] } }), 200);
    await expectStatus(call('GET', `${blocks}?start=8&count=2`, { token: await ownerSession.token() }), 200);
    await expectStatus(
      call('PUT', `/v1/tenants/${tenant.id}/labels/disk-secret`, { as: owner, body: { space: 'disk', disk: disk.id, start: 9, count: 1 } }),
      201,
    );

    const log = `tenants/${tenant.id}`;
    const { results: records } = await env.DB.prepare('SELECT idx, jws, session FROM audit_records WHERE log = ? ORDER BY idx')
      .bind(log)
      .all<{ idx: number; jws: string; session: string | null }>();
    const expected = records.flatMap((r) => {
      const record = JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString());
      expect(r.session).toBe(record.actor.sid ?? record.actor.jti);
      if (record.outcome !== 'allowed') return [];
      return (record.regions ?? [])
        .filter((g: { access: string }) => g.access !== 'rollback')
        .map((g: any) => [r.idx, g.access, g.space, g.resource, g.index, g.version, record.actor.sid ?? record.actor.jti]);
    });
    const { results: flows } = await env.DB.prepare(
      'SELECT audit_index, kind, space, resource_id, idx, version, session FROM content_flows WHERE log = ? ORDER BY audit_index, kind, space, resource_id, idx',
    )
      .bind(log)
      .all<any>();
    const sort = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();
    expect(sort(flows.map((f) => [f.audit_index, f.kind, f.space, f.resource_id, f.idx, f.version, f.session]))).toEqual(sort(expected));
    expect(expected.filter((e) => e[2] === 'disk').map((e) => e[1])).toEqual(['write', 'read']);
    expect(expected.filter((e) => e[6] === s.sid)).toHaveLength(2 + 2); // its write of 2 pages and its read of them

    const report = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/exposure?label=disk-secret`, { as: owner }), 200);
    expect(report.labels).toEqual([expect.objectContaining({ name: 'disk-secret', space: 'disk', disk: disk.id, exposed: true })]);
    expect(report.labels[0].reads[0]).toMatchObject({
      actor: { type: 'tenant', id: tenant.id },
      toolstack: null,
      session: ownerSession.sid,
      pages: [{ index: 9, version: 1 }],
    });
  });

  it('refuses a token whose sid is not a short string', async () => {
    const { tenant, owner } = await scene();
    for (const sid of ['', 'x'.repeat(129), 42]) {
      const res = await call('GET', `/v1/tenants/${tenant.id}/labels`, { token: await mintToken(owner, { claims: { sid } }) });
      expect((await expectStatus(res, 401)).code).toBe('token_claims_invalid');
    }
  });
});

describe('the flow index', () => {
  // drizzle/0016: a page's flows pay for the indexes the recovery and exposure queries use, no more.
  const plan = async (query: string) => (await env.DB.prepare(`EXPLAIN QUERY PLAN ${query}`).all<{ detail: string }>()).results.map((r) => r.detail).join('\n');

  it("finds a label's reads by the read-only range index, and a version's readers by the version index", async () => {
    // The shape of the exposure report's query (recovery/exposure/exposure.service.ts).
    const exposure = await plan(`WITH l AS (SELECT * FROM labels WHERE tenant_id = 't' ORDER BY name LIMIT 11)
      SELECT l.name, f.audit_index FROM l LEFT JOIN content_flows f
        ON f.log = 'tenants/t' AND f.kind = 'read' AND f.space = l.space AND f.resource_id = l.resource_id AND f.idx >= l.start AND f.idx < l.start + l.count
      GROUP BY l.name, f.audit_index`);
    expect(exposure).toContain('content_flows_read_range_idx');
    const readers = await plan(`SELECT f.audit_index FROM json_each('[]') v CROSS JOIN content_flows f
      ON f.space = v.value ->> 0 AND f.resource_id = v.value ->> 1 AND f.idx = v.value ->> 2 AND f.version = v.value ->> 3 AND f.kind = 'read' AND +f.log = 'x'`);
    expect(readers).toContain('content_flows_version_idx');
  });

  it("keeps no index a write's flows would pay for and no query reads", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'content_flows' AND sql IS NOT NULL ORDER BY name",
    ).all<{ name: string; sql: string }>();
    expect(results.map((r) => r.name)).toEqual(['content_flows_copy_idx', 'content_flows_read_range_idx', 'content_flows_version_idx']);
    expect(results.find((r) => r.name === 'content_flows_read_range_idx')!.sql).toMatch(/WHERE kind = 'read'/);
  });
});
