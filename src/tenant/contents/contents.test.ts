/**
 * Guest memory, disks, snapshots and wrapped keys (issue 4 items 3–5): the
 * provider stores envelopes of exactly the docs/design.md §4 shape, keeps every
 * version, and each record lists the exact pages and versions touched with
 * the digests of the envelopes returned.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, expectStatus, mintToken, recordOf } from '../../../test/support/api';
import { fakeEnvelope, newToolstack, sha256Digest, tenantWithVm } from '../../../test/support/tenant';
import { decodeReadFrame, encodeWriteFrame } from '../../lib/page-frames';

describe('memory pages', () => {
  it('writes versions and reads them back; the records list exact pages, versions and digests', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const tsk = await newToolstack(tenant.id, owner, ['memory:read', 'memory:write']);
    const pagesPath = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    const [a, b, c] = [fakeEnvelope(), fakeEnvelope(), fakeEnvelope()];
    const written = await call('PUT', pagesPath, {
      token: await mintToken(tsk, { claims: { scope: 'memory:write' } }),
      body: {
        pages: [
          { index: 0, envelope: a },
          { index: 7, envelope: b },
        ],
      },
    });
    const body = await expectStatus(written, 200);
    expect(body.pages).toEqual([
      { index: 0, version: 1, digest: await sha256Digest(a) },
      { index: 7, version: 1, digest: await sha256Digest(b) },
    ]);
    const writeRecord = await recordOf(written);
    expect(writeRecord.index).toBe(body.auditIndex);
    expect(writeRecord.record).toMatchObject({ action: 'vm.memory.write', actor: { type: 'toolstack', id: tsk.id } });
    expect(writeRecord.record.regions).toEqual(
      body.pages.map((p: any) => ({ space: 'memory', resource: vm.id, index: p.index, version: p.version, digest: p.digest, access: 'write' })),
    );

    await expectStatus(call('PUT', pagesPath, { as: owner, body: { pages: [{ index: 0, envelope: c }] } }), 200);
    const read = await call('GET', `${pagesPath}?start=0&count=8`, { token: await mintToken(tsk, { claims: { scope: 'memory:read' } }) });
    const pages = (await expectStatus(read, 200)).pages;
    expect(pages.map((p: any) => [p.index, p.version, p.envelope])).toEqual([
      [0, 2, c],
      [7, 1, b],
    ]);
    const readRecord = (await recordOf(read)).record;
    expect(readRecord.action).toBe('vm.memory.read');
    // The digests in the record are those of the envelopes actually returned.
    expect(readRecord.regions).toEqual(
      await Promise.all(
        pages.map(async (p: any) => ({
          space: 'memory',
          resource: vm.id,
          index: p.index,
          version: p.version,
          digest: await sha256Digest(p.envelope),
          access: 'read',
        })),
      ),
    );

    const old = await call('GET', `${pagesPath}/0/versions/1`, { as: owner });
    expect((await expectStatus(old, 200)).envelope).toBe(a);
    expect((await recordOf(old)).record.regions).toEqual([
      { space: 'memory', resource: vm.id, index: 0, version: 1, digest: await sha256Digest(a), access: 'read' },
    ]);
    expect((await expectStatus(call('GET', `${pagesPath}/0/versions/3`, { as: owner }), 404)).code).toBe('not_found');
  });

  it('carries pages as binary frames too (issue 34): the same versions, digests and records as JSON, stored as 4141-byte BLOBs', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const pagesPath = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    const [a, b] = [fakeEnvelope(), fakeEnvelope()];
    const bytes = (base64: string) => Uint8Array.from(Buffer.from(base64, 'base64'));
    const octets = { 'Content-Type': 'application/octet-stream' };
    const written = await call('PUT', pagesPath, {
      as: owner,
      rawBody: encodeWriteFrame([
        { index: 3, envelope: bytes(a) },
        { index: 5, envelope: bytes(b) },
      ]),
      headers: octets,
    });
    const body = await expectStatus(written, 200);
    expect(body.pages).toEqual([
      { index: 3, version: 1, digest: await sha256Digest(a) },
      { index: 5, version: 1, digest: await sha256Digest(b) },
    ]);
    expect((await recordOf(written)).record.regions.map((r: any) => [r.index, r.digest])).toEqual(body.pages.map((p: any) => [p.index, p.digest]));
    const stored = await env.DB.prepare('SELECT typeof(envelope) AS type, length(envelope) AS size FROM content_versions WHERE resource_id = ? ORDER BY idx')
      .bind(vm.id)
      .all();
    expect(stored.results).toEqual([
      { type: 'blob', size: 4141 },
      { type: 'blob', size: 4141 },
    ]);

    // Read back as a frame (Accept), and as JSON (no Accept): the same pages.
    const framed = await call('GET', `${pagesPath}?start=0&count=8`, { as: owner, headers: { Accept: 'application/octet-stream' } });
    expect(framed.status).toBe(200);
    expect(framed.headers.get('Content-Type')).toBe('application/octet-stream');
    expect(framed.headers.get('Vary')).toBe('Accept');
    const frame = decodeReadFrame<any>(new Uint8Array(await framed.arrayBuffer()));
    if (!frame.ok) throw new Error(frame.reason);
    expect(
      frame.value.pages.map((p) => [p.index, p.version, `sha256:${Buffer.from(p.digest).toString('hex')}`, Buffer.from(p.envelope).toString('base64')]),
    ).toEqual([
      [3, 1, await sha256Digest(a), a],
      [5, 1, await sha256Digest(b), b],
    ]);
    const readRecord = (await recordOf(framed)).record;
    expect(frame.value.evidence.read.index).toBe((await recordOf(framed)).index);
    expect(readRecord.regions.map((r: any) => [r.index, r.version, r.digest])).toEqual([
      [3, 1, await sha256Digest(a)],
      [5, 1, await sha256Digest(b)],
    ]);
    const json = await expectStatus(call('GET', `${pagesPath}?start=0&count=8`, { as: owner }), 200);
    expect(json.pages.map((p: any) => [p.index, p.envelope])).toEqual([
      [3, a],
      [5, b],
    ]);
    expect((await expectStatus(call('GET', `${pagesPath}/3/versions/1`, { as: owner }), 200)).envelope).toBe(a);

    // A toolstack limited to this VM writes a frame too; with an Idempotency-Key, a retry is the stored answer, another frame is refused.
    const limited = await newToolstack(tenant.id, owner, ['memory:write'], [vm.id]);
    const one = encodeWriteFrame([{ index: 9, envelope: bytes(a) }]);
    const keyed = { ...octets, 'Idempotency-Key': crypto.randomUUID() };
    const first = await expectStatus(
      call('PUT', pagesPath, { token: await mintToken(limited, { claims: { scope: 'memory:write' } }), rawBody: one, headers: keyed }),
      200,
    );
    const retry = await call('PUT', pagesPath, { token: await mintToken(limited, { claims: { scope: 'memory:write' } }), rawBody: one, headers: keyed });
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await expectStatus(retry, 200)).toEqual(first);
    const other = encodeWriteFrame([{ index: 9, envelope: bytes(b) }]);
    expect(
      (
        await expectStatus(
          call('PUT', pagesPath, { token: await mintToken(limited, { claims: { scope: 'memory:write' } }), rawBody: other, headers: keyed }),
          422,
        )
      ).code,
    ).toBe('idempotency_key_reused');
  });

  it('migration 0021 turns envelopes stored as base64 text into the same bytes as BLOBs, and leaves BLOBs alone', async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0021_envelopes_as_blobs'))!;
    const resource = `vm_${crypto.randomUUID().replace(/-/g, '').slice(0, 26).toUpperCase()}`;
    const envelopes = [fakeEnvelope(), Buffer.from([1]).toString('base64'), Buffer.from([1, 2]).toString('base64'), Buffer.from([1, 2, 3]).toString('base64')];
    const insert = 'INSERT INTO content_versions (space, resource_id, idx, version, tenant_id, digest, envelope) VALUES (?, ?, ?, 1, ?, ?, ?)';
    await env.DB.batch([
      ...envelopes.map((text, idx) => env.DB.prepare(insert).bind('memory', resource, idx, 'ten_migration', 'sha256:x', text)),
      env.DB.prepare(insert.replace('?)', 'unhex(?))')).bind('memory', resource, 9, 'ten_migration', 'sha256:x', 'ff00'),
    ]);
    for (const query of migration.queries) await env.DB.prepare(query).run();
    const rows = await env.DB.prepare('SELECT typeof(envelope) AS type, lower(hex(envelope)) AS hex FROM content_versions WHERE resource_id = ? ORDER BY idx')
      .bind(resource)
      .all<{ type: string; hex: string }>();
    expect(rows.results).toEqual([
      ...envelopes.map((text) => ({ type: 'blob', hex: Buffer.from(text, 'base64').toString('hex') })),
      { type: 'blob', hex: 'ff00' },
    ]);
    await env.DB.prepare('DELETE FROM content_versions WHERE resource_id = ?').bind(resource).run();
  });

  it('refuses a malformed frame with a 4xx problem and stores nothing', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const pagesPath = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    const envelope = Uint8Array.from(Buffer.from(fakeEnvelope(), 'base64'));
    const wrongFormat = envelope.slice();
    wrongFormat[0] = 0x02;
    const good = encodeWriteFrame([{ index: 1, envelope }]);
    const cases: [Uint8Array<ArrayBuffer>, number, string, RegExp][] = [
      [good.slice(0, good.length - 1), 400, 'invalid_request', /not a page frame: .*4157 bytes/],
      [new Uint8Array(new TextEncoder().encode('{"pages":[]}')), 400, 'invalid_request', /starts with "CPW"/],
      [encodeWriteFrame([]), 400, 'invalid_request', /1–256 pages, not 0/],
      [encodeWriteFrame([{ index: 1, envelope: wrongFormat }]), 400, 'invalid_envelope', /format byte is 0x02/],
      [
        encodeWriteFrame([
          { index: 1, envelope },
          { index: 1, envelope },
        ]),
        400,
        'invalid_request',
        /once per call/,
      ],
      [encodeWriteFrame([{ index: 10 ** 9, envelope }]), 400, 'index_out_of_range', /outside/],
    ];
    for (const [frame, status, code, detail] of cases) {
      const problem = await expectStatus(
        call('PUT', pagesPath, { as: owner, rawBody: frame, headers: { 'Content-Type': 'application/octet-stream' } }),
        status,
      );
      expect([problem.code, problem.detail]).toEqual([code, expect.stringMatching(detail)]);
    }
    const other = await expectStatus(call('PUT', pagesPath, { as: owner, rawBody: good, headers: { 'Content-Type': 'image/png' } }), 415);
    expect(other.detail).toMatch(/application\/json or application\/octet-stream/);
    const none = await env.DB.prepare('SELECT count(*) AS n FROM content_versions WHERE resource_id = ?').bind(vm.id).first<{ n: number }>();
    expect(none!.n).toBe(0);
  });

  it('answers malformed batches with 4xx problems and stores nothing', async () => {
    const { tenant, owner, vm } = await tenantWithVm(128); // 32768 pages
    const pagesPath = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    const bad = (envelope: string) => ({ pages: [{ index: 1, envelope }] });
    const good = fakeEnvelope();
    const wrongVersion = Buffer.from(good, 'base64');
    wrongVersion[0] = 0x02;
    const cases: [unknown, number, string][] = [
      [{ pages: [{ index: 32768, envelope: good }] }, 400, 'index_out_of_range'],
      [{ pages: Array.from({ length: 257 }, (_, index) => ({ index, envelope: good })) }, 400, 'invalid_request'],
      [{ pages: [] }, 400, 'invalid_request'],
      [
        {
          pages: [
            { index: 1, envelope: good },
            { index: 1, envelope: good },
          ],
        },
        400,
        'invalid_request',
      ],
      [bad(good.slice(0, -4)), 400, 'invalid_request'],
      [bad(`${good.slice(0, -4)}!!!=`), 400, 'invalid_envelope'],
      [bad(wrongVersion.toString('base64')), 400, 'invalid_envelope'],
      [bad(`${good.slice(0, -3)}B==`), 400, 'invalid_envelope'], // non-canonical: stray bits in the last character
      [bad(`${good.slice(0, 100)}-_${good.slice(102)}`), 400, 'invalid_envelope'], // base64url, not base64
      [bad(`${good.slice(0, 100)} ${good.slice(101)}`), 400, 'invalid_envelope'], // a space the decoder would skip
      [bad(`${good.slice(0, -4)}AAAA`), 400, 'invalid_envelope'], // no padding: decodes to one byte too many
      [{ pages: [{ index: -1, envelope: good }] }, 400, 'invalid_request'],
      [{ pages: [{ index: 1.5, envelope: good }] }, 400, 'invalid_request'],
      [{ pages: [{ index: 1, envelope: good, extra: 1 }] }, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const res = await call('PUT', pagesPath, { as: owner, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(((await res.json()) as { code: string }).code).toBe(code);
    }
    expect((await expectStatus(call('GET', `${pagesPath}?start=32760&count=9`, { as: owner }), 400)).code).toBe('index_out_of_range');
    expect((await expectStatus(call('GET', `${pagesPath}?start=0&count=257`, { as: owner }), 400)).code).toBe('invalid_request');
    expect((await expectStatus(call('GET', `${pagesPath}?start=0&count=256`, { as: owner }), 200)).pages).toEqual([]);
  });

  it('replays a retried write with the same Idempotency-Key instead of writing new versions', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const path = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    const body = { pages: [{ index: 3, envelope: fakeEnvelope() }] };
    const first = await expectStatus(call('PUT', path, { as: owner, body, headers: { 'Idempotency-Key': 'write-1' } }), 200);
    const retry = await call('PUT', path, { as: owner, body, headers: { 'Idempotency-Key': 'write-1' } });
    expect(retry.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await expectStatus(retry, 200)).toEqual(first);
    const other = await call('PUT', path, { as: owner, body: { pages: [{ index: 3, envelope: fakeEnvelope() }] }, headers: { 'Idempotency-Key': 'write-1' } });
    expect((await expectStatus(other, 422)).code).toBe('idempotency_key_reused');
    const pages = await expectStatus(call('GET', `${path}?start=3&count=1`, { as: owner }), 200);
    expect(pages.pages.map((p: any) => p.version)).toEqual([1]);
  });

  it('numbers concurrent writes to the same pages without gaps or losses, each in its own record', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const path = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    const envelopes = Array.from({ length: 8 }, () => fakeEnvelope());
    const results = await Promise.all(
      envelopes.map((envelope) =>
        call('PUT', path, {
          as: owner,
          body: {
            pages: [
              { index: 5, envelope },
              { index: 6, envelope },
            ],
          },
        }),
      ),
    );
    const bodies = await Promise.all(results.map((r) => expectStatus(r, 200)));
    // Every write got its own versions of both pages: 1…8, each once.
    for (const index of [5, 6]) {
      const versions = bodies.map((b) => b.pages.find((p: any) => p.index === index).version).sort((a: number, b: number) => a - b);
      expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
    // The head is the highest version, and every version is kept and readable.
    const head = await expectStatus(call('GET', `${path}?start=5&count=2`, { as: owner }), 200);
    expect(head.pages.map((p: any) => p.version)).toEqual([8, 8]);
    const eighth = bodies.find((b) => b.pages[0].version === 8);
    expect(head.pages[0].digest).toBe(eighth.pages[0].digest);
    for (const version of [1, 4, 8]) await expectStatus(call('GET', `${path}/5/versions/${version}`, { as: owner }), 200);
    const indexes = new Set(bodies.map((b) => b.auditIndex));
    expect(indexes.size).toBe(8);
  });

  it('takes a full batch of 256 pages', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const pages = Array.from({ length: 256 }, (_, index) => ({ index, envelope: fakeEnvelope() }));
    const body = await expectStatus(call('PUT', `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`, { as: owner, body: { pages } }), 200);
    expect(body.pages).toHaveLength(256);
    const read = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages?start=0&count=256`, { as: owner }), 200);
    expect(read.pages.map((p: any) => p.envelope)).toEqual(pages.map((p) => p.envelope));
  });
});

describe("pages in one round trip (the log's sequencer follows the heads: tenant/contents/content-heads.ts)", () => {
  const timed = { CUSTODES_SERVER_TIMING: 'on' };
  const spans = (res: Response) => (res.headers.get('Server-Timing') ?? '').split(',').map((entry) => entry.trim().split(';')[0]);

  it("reads and writes with no D1 call before the record's batch once the heads are known", async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const pagesPath = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    await expectStatus(call('PUT', pagesPath, { as: owner, body: { pages: [{ index: 3, envelope: fakeEnvelope() }] } }), 200);
    const [a, b] = [fakeEnvelope(), fakeEnvelope()];
    const written = await call('PUT', pagesPath, {
      as: owner,
      env: timed,
      body: {
        pages: [
          { index: 3, envelope: a },
          { index: 4, envelope: b },
        ],
      },
    });
    expect((await expectStatus(written, 200)).pages.map((p: any) => [p.index, p.version])).toEqual([
      [3, 2],
      [4, 1],
    ]);
    expect(spans(written)).not.toContain('d1.handler');
    const read = await call('GET', `${pagesPath}?start=0&count=8`, { as: owner, env: timed });
    const pages = (await expectStatus(read, 200)).pages;
    expect(pages.map((p: any) => [p.index, p.version, p.envelope])).toEqual([
      [3, 2, a],
      [4, 1, b],
    ]);
    expect(spans(read)).not.toContain('d1.handler');
    expect(spans(read)).not.toContain('d1.record'); // nor after it: the read's own batch holds its record
    expect((await recordOf(read)).record).toMatchObject({
      action: 'vm.memory.read',
      status: 200,
      regions: [
        { space: 'memory', resource: vm.id, index: 3, version: 2, digest: await sha256Digest(a), access: 'read' },
        { space: 'memory', resource: vm.id, index: 4, version: 1, digest: await sha256Digest(b), access: 'read' },
      ],
    });
  });

  it('a change of the heads outside the log is caught by the batch: the read names what it returns, the write numbers past it', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const pagesPath = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    const [v1, v2] = [fakeEnvelope(), fakeEnvelope()];
    await expectStatus(call('PUT', pagesPath, { as: owner, body: { pages: [{ index: 0, envelope: v1 }] } }), 200);
    await expectStatus(call('PUT', pagesPath, { as: owner, body: { pages: [{ index: 0, envelope: v2 }] } }), 200);
    expect((await expectStatus(call('GET', `${pagesPath}?start=0&count=1`, { as: owner }), 200)).pages[0].version).toBe(2);
    // Behind the sequencer's back: the head goes back to version 1, and a version 3 appears.
    await env.DB.prepare("UPDATE content_heads SET version = 1 WHERE space = 'memory' AND resource_id = ? AND idx = 0").bind(vm.id).run();
    const read = await call('GET', `${pagesPath}?start=0&count=1`, { as: owner });
    const [page] = (await expectStatus(read, 200)).pages;
    expect([page.version, page.envelope]).toEqual([1, v1]);
    expect((await recordOf(read)).record.regions).toEqual([
      { space: 'memory', resource: vm.id, index: 0, version: 1, digest: await sha256Digest(v1), access: 'read' },
    ]);
    await env.DB.prepare(
      "INSERT INTO content_versions (space, resource_id, idx, version, tenant_id, digest, envelope) SELECT space, resource_id, idx, 3, tenant_id, digest, envelope FROM content_versions WHERE space = 'memory' AND resource_id = ? AND idx = 0 AND version = 2",
    )
      .bind(vm.id)
      .run();
    // The sequencer re-read the heads after the stale read; make them stale again for the write.
    await expectStatus(call('GET', `${pagesPath}?start=0&count=1`, { as: owner }), 200);
    await env.DB.prepare(
      "INSERT INTO content_versions (space, resource_id, idx, version, tenant_id, digest, envelope) SELECT space, resource_id, idx, 4, tenant_id, digest, envelope FROM content_versions WHERE space = 'memory' AND resource_id = ? AND idx = 0 AND version = 3",
    )
      .bind(vm.id)
      .run();
    const written = await expectStatus(call('PUT', pagesPath, { as: owner, body: { pages: [{ index: 0, envelope: fakeEnvelope() }] } }), 200);
    expect(written.pages[0].version).toBe(5);
    // A resource that is gone or too small still gets its own answer.
    expect((await expectStatus(call('GET', `${pagesPath}?start=32767&count=2`, { as: owner }), 400)).code).toBe('index_out_of_range');
    expect((await expectStatus(call('PUT', pagesPath, { as: owner, body: { pages: [{ index: 32768, envelope: fakeEnvelope() }] } }), 400)).code).toBe(
      'index_out_of_range',
    );
  });
});

describe('disks', () => {
  it('are created within the slice, attached, and hold versioned blocks', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const disks = `/v1/tenants/${tenant.id}/disks`;
    const disk = await expectStatus(call('POST', disks, { as: owner, body: { name: 'data', sizeGiB: 10 } }), 201);
    expect(disk).toMatchObject({ tenant: tenant.id, sizeGiB: 10, vm: null });
    expect((await expectStatus(call('POST', disks, { as: owner, body: { name: 'big', sizeGiB: 991 } }), 409)).code).toBe('quota_exceeded');
    expect((await expectStatus(call('GET', `/v1/admin/tenants/${tenant.id}`), 200)).usage.diskGiB).toBe(10);

    const attached = await expectStatus(call('POST', `${disks}/${disk.id}:attach`, { as: owner, body: { vm: vm.id } }), 200);
    expect(attached.vm).toBe(vm.id);
    expect((await expectStatus(call('DELETE', `${disks}/${disk.id}`, { as: owner }), 409)).code).toBe('resource_in_use');

    const envelope = fakeEnvelope();
    const blocks = `${disks}/${disk.id}/blocks`;
    const last = 10 * 262144 - 1;
    const written = await call('PUT', blocks, { as: owner, body: { pages: [{ index: last, envelope }] } });
    expect((await expectStatus(written, 200)).pages).toEqual([{ index: last, version: 1, digest: await sha256Digest(envelope) }]);
    expect((await recordOf(written)).record.regions[0]).toMatchObject({ space: 'disk', resource: disk.id, index: last, access: 'write' });
    expect((await expectStatus(call('PUT', blocks, { as: owner, body: { pages: [{ index: last + 1, envelope }] } }), 400)).code).toBe('index_out_of_range');
    const read = await expectStatus(call('GET', `${blocks}?start=${last}&count=1`, { as: owner }), 200);
    expect(read.pages[0].envelope).toBe(envelope);

    await expectStatus(call('POST', `${disks}/${disk.id}:detach`, { as: owner }), 200);
    expect(await (await call('DELETE', `${disks}/${disk.id}`, { as: owner })).status).toBe(204);
  });
});

describe('snapshots', () => {
  it('capture current versions by reference and restore them as new versions', async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const pagesPath = `/v1/tenants/${tenant.id}/vms/${vm.id}/memory/pages`;
    const [a, b, later] = [fakeEnvelope(), fakeEnvelope(), fakeEnvelope()];
    await expectStatus(
      call('PUT', pagesPath, {
        as: owner,
        body: {
          pages: [
            { index: 0, envelope: a },
            { index: 1, envelope: b },
          ],
        },
      }),
      200,
    );
    const snapshot = await expectStatus(call('POST', `/v1/tenants/${tenant.id}/snapshots`, { as: owner, body: { vm: vm.id, name: 'before' } }), 201);
    expect(snapshot).toMatchObject({ vm: vm.id, pages: 2, disks: [] });
    await expectStatus(
      call('PUT', pagesPath, {
        as: owner,
        body: {
          pages: [
            { index: 0, envelope: later },
            { index: 2, envelope: later },
          ],
        },
      }),
      200,
    );

    const restore = `/v1/tenants/${tenant.id}/snapshots/${snapshot.id}:restore`;
    expect((await expectStatus(call('POST', restore, { as: owner }), 409)).code).toBe('invalid_state'); // running
    await expectStatus(call('POST', `/v1/tenants/${tenant.id}/vms/${vm.id}:stop`, { as: owner }), 200);
    const restored = await call('POST', restore, { as: owner });
    const result = await expectStatus(restored, 200);
    expect(result.pages.map((p: any) => [p.index, p.version])).toEqual([
      [0, 3],
      [1, 2],
    ]);
    // The record lists the copies (with the version each copies) and the page the restore clears.
    expect((await recordOf(restored)).record.regions.map((r: any) => [r.index, r.version, r.access, r.copyOf, r.digest === null])).toEqual([
      [0, 3, 'write', 1, false],
      [1, 2, 'write', 1, false],
      [2, 0, 'rollback', undefined, true],
    ]);
    const pages = (await expectStatus(call('GET', `${pagesPath}?start=0&count=3`, { as: owner }), 200)).pages;
    // Page 2 was written after the snapshot: unwritten again.
    expect(pages.map((p: any) => [p.index, p.version, p.envelope])).toEqual([
      [0, 3, a],
      [1, 2, b],
    ]);
    const list = await expectStatus(call('GET', `/v1/tenants/${tenant.id}/snapshots?vm=${vm.id}`, { as: owner }), 200);
    expect(list.snapshots.map((s: any) => s.id)).toEqual([snapshot.id]);
  });
});

describe('snapshots of attached disks', () => {
  it("capture the disk's blocks with the memory, and restore both", async () => {
    const { tenant, owner, vm } = await tenantWithVm();
    const base = `/v1/tenants/${tenant.id}`;
    const disk = await expectStatus(call('POST', `${base}/disks`, { as: owner, body: { name: 'root', sizeGiB: 1 } }), 201);
    await expectStatus(call('POST', `${base}/disks/${disk.id}:attach`, { as: owner, body: { vm: vm.id } }), 200);
    const [block, page, later] = [fakeEnvelope(), fakeEnvelope(), fakeEnvelope()];
    await expectStatus(call('PUT', `${base}/disks/${disk.id}/blocks`, { as: owner, body: { pages: [{ index: 9, envelope: block }] } }), 200);
    await expectStatus(call('PUT', `${base}/vms/${vm.id}/memory/pages`, { as: owner, body: { pages: [{ index: 0, envelope: page }] } }), 200);
    const snapshot = await expectStatus(call('POST', `${base}/snapshots`, { as: owner, body: { vm: vm.id, name: 'with-disk' } }), 201);
    expect(snapshot).toMatchObject({ pages: 2, disks: [disk.id] });
    await expectStatus(call('PUT', `${base}/disks/${disk.id}/blocks`, { as: owner, body: { pages: [{ index: 9, envelope: later }] } }), 200);
    await expectStatus(call('POST', `${base}/vms/${vm.id}:pause`, { as: owner }), 200);
    const restored = await expectStatus(call('POST', `${base}/snapshots/${snapshot.id}:restore`, { as: owner }), 200);
    expect(restored.pages.map((p: any) => [p.space, p.index, p.version]).sort()).toEqual([
      ['disk', 9, 3],
      ['memory', 0, 2],
    ]);
    const blocks = await expectStatus(call('GET', `${base}/disks/${disk.id}/blocks?start=9&count=1`, { as: owner }), 200);
    expect(blocks.pages.map((p: any) => [p.version, p.envelope])).toEqual([[3, block]]);
  });
});

describe('wrapped keys', () => {
  it('are stored and returned verbatim, at most 4 KiB', async () => {
    const { tenant, owner } = await tenantWithVm();
    const keys = `/v1/tenants/${tenant.id}/keys`;
    const wrapped = 'eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIn0.abc.def.ghi.jkl';
    const key = await expectStatus(call('POST', keys, { as: owner, body: { name: 'dek-1', wrapped } }), 201);
    expect((await expectStatus(call('GET', `${keys}/${key.id}`, { as: owner }), 200)).wrapped).toBe(wrapped);
    await expectStatus(call('POST', keys, { as: owner, body: { name: 'dek-2', wrapped } }), 201);
    expect((await expectStatus(call('GET', `${keys}?name=dek-2`, { as: owner }), 200)).keys.map((k: any) => k.name)).toEqual(['dek-2']);
    expect((await expectStatus(call('GET', `${keys}?name=absent`, { as: owner }), 200)).keys).toEqual([]);
    expect((await expectStatus(call('POST', keys, { as: owner, body: { name: 'dek-3', wrapped: 'x'.repeat(4097) } }), 400)).code).toBe('invalid_request');
    expect((await expectStatus(call('POST', keys, { as: owner, body: { name: 'dek-1', wrapped } }), 409)).code).toBe('name_taken');
    expect((await call('DELETE', `${keys}/${key.id}`, { as: owner })).status).toBe(204);
  });
});
