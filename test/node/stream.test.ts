/**
 * The live audit stream (issue 19): a subscriber sees an admin's denied
 * attempt and a toolstack's read of a labelled page within a second of the
 * request's answer, verifies every record and checkpoint as they arrive,
 * resumes after a forced disconnect with no gap and no duplicate, and is
 * refused exactly as a missing log is when it may not read the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildWorker } from '../../scripts/build-worker';
import { CustodesApiError, GuestContents, newKeystore, verifiedAuditStream, type StreamEvent } from '../../src/sdk/index';
import { startCustodes, type Custodes } from '../../src/testing/index';
import { main, type Io } from '../../src/cli/main';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let emu: Custodes;
before(async () => {
  await buildWorker();
  emu = await startCustodes();
});
after(() => emu?.close());

/** Pulls events from `stream` into `seen` in the background, noting when each arrived. */
function collect(stream: AsyncGenerator<StreamEvent>) {
  const seen: (StreamEvent & { at: number })[] = [];
  let failure: Error | null = null;
  const done = (async () => {
    for await (const event of stream) seen.push({ ...event, at: performance.now() });
  })().catch((error: Error) => {
    // Ending a subscription by its signal is how these tests stop it; anything else fails the wait.
    if (error.name !== 'AbortError' && error.name !== 'TimeoutError') failure = error;
  });
  const waitFor = async (test: (e: StreamEvent) => boolean, ms = 5000) => {
    const deadline = performance.now() + ms;
    for (;;) {
      if (failure) throw failure;
      const found = seen.find(test);
      if (found) return found;
      if (performance.now() > deadline)
        throw new Error(`no such event within ${ms} ms; saw ${seen.map((e) => (e.kind === 'record' ? `${e.index}:${e.record.action}` : e.kind)).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { seen, done, waitFor };
}

describe('live audit stream', () => {
  it("delivers an admin's denied attempt and a toolstack's read of a labelled page within 1 s, verified, and resumes after a forced disconnect with no gap and no duplicate", async () => {
    const { tenant, vm, owner, toolstack } = await emu.provisionTenant();
    const target = { tenant, space: 'memory' as const, resource: vm };
    const keystore = await newKeystore();
    await new GuestContents(owner.api, keystore).write(target, 0, new Uint8Array(2 * 4096).fill(7));
    await owner.api.PUT('/v1/tenants/{tenant}/labels/{name}', {
      params: { path: { tenant, name: 'tls-key' } },
      body: { space: 'memory', vm, start: 0, count: 2 },
    });

    // The first connection is cut when the test says so: the iterator must resume by itself.
    let connections = 0;
    let cut = false;
    const cutting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!new Request(input, init).url.includes('/audit/stream') || connections++ > 0) return response;
      const body = response.body!.pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            if (cut) controller.error(new Error('cut by the test'));
            else controller.enqueue(chunk);
          },
        }),
      );
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const controller = new AbortController();
    const stream = collect(verifiedAuditStream(emu.client(owner, { fetch: cutting }), tenant, { signal: controller.signal }));
    await stream.waitFor((e) => e.kind === 'checkpoint');
    cut = true;
    await owner.api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant } } }); // its record breaks the first connection
    await stream.waitFor((e) => e.kind === 'reconnecting');
    await stream.waitFor((e) => e.kind === 'record' && e.record.action === 'vm.list');
    assert.equal(connections, 2);

    const admin = emu.client(emu.admins[0], { retry: { retries: 0 } });
    await assert.rejects(
      admin.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages', { params: { path: { tenant, vm }, query: { start: 0, count: 2 } } }),
      (e: unknown) => e instanceof CustodesApiError,
    );
    const refusedAt = performance.now();
    const denied = await stream.waitFor((e) => e.kind === 'record' && e.record.actor.type === 'admin' && e.record.outcome === 'denied');
    assert.ok(denied.at - refusedAt < 1000, `the denied attempt arrived ${Math.round(denied.at - refusedAt)} ms after its answer`);

    await new GuestContents(toolstack.api, keystore).read(target, 0, 4096);
    const readAt = performance.now();
    const read = await stream.waitFor((e) => e.kind === 'record' && e.record.action === 'vm.memory.read' && e.record.actor.id === toolstack.id);
    assert.ok(read.at - readAt < 1000, `the read arrived ${Math.round(read.at - readAt)} ms after its answer`);
    assert.ok(read.kind === 'record' && read.record.regions?.some((r) => r.index === 0 && r.access === 'read'));
    const lastRecord = (read as { index: number }).index;
    await stream.waitFor((e) => e.kind === 'checkpoint' && e.size > lastRecord);
    controller.abort();
    await stream.done;

    // Every record exactly once, in order, from 0; every checkpoint's root recomputed from them.
    const indexes = stream.seen.flatMap((e) => (e.kind === 'record' ? [e.index] : []));
    assert.deepEqual(
      indexes,
      Array.from({ length: indexes.length }, (_, i) => i),
    );
    const checkpoints = stream.seen.filter((e) => e.kind === 'checkpoint');
    assert.ok(checkpoints.length >= 2 && checkpoints.every((c) => c.kind === 'checkpoint' && c.tree));

    // A new subscriber resuming from where this one stopped gets the rest, no gap, no duplicate.
    const resumed = collect(verifiedAuditStream(owner.api, tenant, { from: lastRecord + 1, resume: false, signal: AbortSignal.timeout(3000) }));
    await resumed.waitFor((e) => e.kind === 'checkpoint');
    const first = resumed.seen.find((e) => e.kind === 'record');
    assert.equal(first && first.kind === 'record' ? first.index : null, lastRecord + 1);
  });

  it('custodes audit tail --follow prints each new record as it commits, verified, and each checkpoint', async () => {
    const { tenant, owner } = await emu.provisionTenant();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'custodes-tail-')), 'owner.jwk');
    writeFileSync(keyFile, JSON.stringify(owner.key));
    let out = '';
    const io: Io = { out: (t) => (out += typeof t === 'string' ? t : ''), err: (t) => (out += t) };
    const tail = main(
      ['audit', 'tail', '--tenant', tenant, '--key', keyFile, '--iss', tenant, '--url', emu.url, '--follow', '--limit', '0', '--count', '4'],
      io,
    );
    await new Promise((r) => setTimeout(r, 500));
    const admin = emu.client(emu.admins[0], { retry: { retries: 0 } });
    await assert.rejects(admin.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant } } }));
    assert.equal(await tail, 0, out);
    assert.match(out, /audit\.stream\.open .* allowed ✓/);
    assert.match(out, /\(admin\) vm\.list tenant\/ten_\w+ denied \(\w+\) ✓/);
    assert.match(out, /checkpoint \d+ verified \(root recomputed from the records\)/);
  });

  it('filters by outcome, actor type and action', async () => {
    const { tenant, owner } = await emu.provisionTenant();
    const stream = collect(verifiedAuditStream(owner.api, tenant, { filter: { outcome: 'denied', actorType: 'admin' }, signal: AbortSignal.timeout(5000) }));
    const admin = emu.client(emu.admins[0], { retry: { retries: 0 } });
    await owner.api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant } } });
    await assert.rejects(admin.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant } } }));
    await stream.waitFor((e) => e.kind === 'record');
    await stream.waitFor((e) => e.kind === 'checkpoint');
    const records = stream.seen.filter((e) => e.kind === 'record');
    assert.ok(records.every((e) => e.kind === 'record' && e.record.outcome === 'denied' && e.record.actor.type === 'admin'));
  });

  it("refuses a subscriber without audit:read, and one on another tenant's log, exactly as a log that does not exist", async () => {
    const mine = await emu.provisionTenant({ scopes: ['vm:read'] });
    const other = await emu.provisionTenant();
    const answer = async (api: typeof mine.owner.api, tenant: string) => {
      const error = await api.GET('/v1/tenants/{tenant}/audit/stream', { params: { path: { tenant }, query: {} }, parseAs: 'stream' }).then(
        () => null,
        (e: unknown) => e as CustodesApiError,
      );
      assert.ok(error instanceof CustodesApiError);
      return { status: error.problem.status, code: error.problem.code, detail: error.problem.detail };
    };
    const missing = await answer(mine.owner.api, 'ten_00000000000000000000000000');
    assert.deepEqual(missing, { status: 404, code: 'not_found', detail: missing.detail });
    assert.deepEqual(await answer(mine.toolstack.api, mine.tenant), missing, 'no audit:read scope');
    assert.deepEqual(await answer(mine.owner.api, other.tenant), missing, "another tenant's log");
  });
});
