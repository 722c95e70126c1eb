/**
 * The emulator's controls, through `custodes/testing` (startCustodes on
 * Miniflare, the Worker as `wrangler deploy --dry-run` builds it): reset,
 * seed, each fault kind, the clock and the recorder — and that a Worker
 * started without emulator mode, as every deployment is, has none of them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { buildWorker } from '../../scripts/build-worker';
import {
  auditSource,
  type components,
  createApiClient,
  CustodesApiError,
  generatePrincipalKey,
  GuestContents,
  newKeystore,
  verifyAuditLog,
} from '../../src/sdk/index';
import { startCustodes, type Custodes } from '../../src/testing/index';
import { launchWorker } from '../../src/testing/runtime';
import { RATE_LIMIT_BLOCKS } from '../../src/platform/middleware/rate-limit/limits';

let emu: Custodes;
before(async () => {
  await buildWorker();
  emu = await startCustodes();
});
after(() => emu?.close());

const CONTROLS: [string, string][] = [
  ['POST', 'reset'],
  ['POST', 'schema'],
  ['POST', 'seed'],
  ['GET', 'faults'],
  ['PUT', 'faults'],
  ['DELETE', 'faults'],
  ['GET', 'clock'],
  ['POST', 'clock'],
  ['GET', 'recorder'],
  ['GET', 'recorder.har'],
  ['DELETE', 'recorder'],
];

async function verified(api: Parameters<typeof auditSource>[0], log: string) {
  const result = await verifyAuditLog(auditSource(api, log), { log });
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result;
}

async function records(api: Parameters<typeof auditSource>[0], log: string) {
  const source = auditSource(api, log);
  const page = await source.records(0, 1000);
  return page.records.map((r: { jws: string }) => JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString('utf8')));
}

describe('custodes/testing', () => {
  it('starts in well under the 2 s target, side by side with a second instance, each with its own state', async () => {
    console.log(`startCustodes: ready in ${emu.startupMs} ms`);
    assert.ok(emu.startupMs < 5000, `startup took ${emu.startupMs} ms`);
    const other = await startCustodes();
    try {
      assert.notEqual(other.url, emu.url);
      await other.provisionTenant({ name: 'only-in-other' });
      const mine = (await emu.client(emu.admins[0]).GET('/v1/admin/tenants')).data!;
      assert.ok(!mine.tenants.some((t) => t.name === 'only-in-other'));
      const info = (await other.info()) as { mode: string; limits: { rateLimits: Record<string, { limit: number; periodSeconds: number }> } };
      assert.equal(info.mode, 'emulator');
      // The limits it reports are the ones wrangler.toml configures (a binding cannot be asked).
      const toml = readFileSync('wrangler.toml', 'utf8');
      const configured = (name: string) => {
        const block = new RegExp(`name = "${name}"[\\s\\S]*?simple = \\{ limit = (\\d+), period = (\\d+) \\}`).exec(toml)!;
        return { limit: Number(block[1]), periodSeconds: Number(block[2]) };
      };
      // A principal's binding counts blocks of requests (src/platform/middleware/rate-limit/block-counter.ts).
      const inRequests = (limit: { limit: number; periodSeconds: number }, block: number) => ({ ...limit, limit: limit.limit * block });
      assert.deepEqual(info.limits.rateLimits, {
        perPrincipal: inRequests(configured('PRINCIPAL_RATE_LIMIT'), RATE_LIMIT_BLOCKS.perPrincipal),
        perAddress: inRequests(configured('ADDRESS_RATE_LIMIT'), RATE_LIMIT_BLOCKS.perAddress),
      });
    } finally {
      await other.close();
    }
  });

  it('reset empties every table and starts the logs again from fresh checkpoints', async () => {
    const { tenant } = await emu.provisionTenant();
    const admin = emu.client(emu.admins[0]);
    assert.ok((await admin.GET('/v1/admin/tenants')).data!.tenants.length >= 1);
    await emu.reset();
    assert.equal((await admin.GET('/v1/admin/tenants')).data!.tenants.length, 0);
    assert.equal((await admin.GET('/v1/admin/hosts')).data!.hosts.length, 0);
    const log = await records(admin, 'provider');
    // The new provider log: the key's activation, the reset itself, then this test's reads.
    assert.deepEqual(
      log.slice(0, 2).map((r) => r.action),
      ['audit.key.activate', 'emulator.reset'],
    );
    assert.deepEqual({ ...log[1].actor, ip: undefined }, { type: 'system', id: 'emulator', kid: null, jti: null, ip: undefined });
    assert.equal(log[0].index, 0);
    await verified(admin, 'provider');
    // The old tenant is gone with its log.
    await assert.rejects(
      admin.GET('/v1/admin/tenants/{tenant}', { params: { path: { tenant } } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'not_found',
    );
  });

  it('seeds the example fixture through the real API, and the seeded state verifies in the logs', async () => {
    await emu.reset();
    const fixture = parse(readFileSync('fixtures/example.yaml', 'utf8'));
    const seeded = await emu.seed(fixture);
    const acme = seeded.tenants.acme!;
    assert.ok(acme.id.startsWith('ten_') && acme.vms['web-1']?.startsWith('vm_') && acme.toolstacks.deployer?.startsWith('tsk_'));
    const owner = emu.client({ id: acme.id, key: JSON.parse(readFileSync('fixtures/keys/acme-owner.jwk', 'utf8')) });
    const log = await records(owner, `tenants/${acme.id}`);
    assert.ok(log.some((r) => r.action === 'toolstack.create' && r.actor.sid === 'emulator:seed' && r.actor.id === acme.id));
    assert.ok(log.some((r) => r.action === 'label.put'));
    await verified(owner, `tenants/${acme.id}`);
    const provider = await records(emu.client(emu.admins[0]), 'provider');
    const seedRecord = provider.find((r) => r.action === 'emulator.seed');
    assert.equal(seedRecord.details.tenants, 2);
    await verified(emu.client(emu.admins[0]), 'provider');
    // The seeded toolstack works with its own key.
    const deployer = emu.client(
      { id: acme.toolstacks.deployer!, key: JSON.parse(readFileSync('fixtures/keys/acme-deployer.jwk', 'utf8')) },
      { scope: ['vm:read'] },
    );
    assert.equal((await deployer.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant: acme.id } } })).data!.vms.length, 2);
    // A fixture that does not fit is a 400 problem, and a refused step says which, keeping what came before.
    await assert.rejects(emu.seed({ hosts: [{ name: 'x' }] }), (e: { problem?: { code: string } }) => e.problem?.code === 'invalid_request');
    await assert.rejects(
      emu.seed({
        hosts: [
          { name: 'rack-9', vcpus: 8, memoryMiB: 8192, diskGiB: 10 },
          { name: 'rack-9', vcpus: 8, memoryMiB: 8192, diskGiB: 10 },
        ],
      }),
      (e: { problem?: any }) =>
        e.problem?.code === 'seed_failed' &&
        e.problem.step === 'hosts/rack-9' &&
        e.problem.stepProblem.code === 'name_taken' &&
        Object.keys(e.problem.seeded.hosts).length === 1,
    );
  });

  it('a reset forgets the controls the requests before it were served under: no fault fires, the clock is real again', async () => {
    const admin = emu.client(emu.admins[0], { retry: { retries: 0 } });
    await emu.clock.advance(3 * 3600);
    await emu.faults.set([{ kind: 'problem', route: 'GET /v1/admin/hosts', status: 503 }]);
    // Served under both (the isolate now holds them): the fault fires, and /v1/info tells the moved clock.
    await assert.rejects(admin.GET('/v1/admin/hosts'), (e: unknown) => e instanceof CustodesApiError && e.problem.status === 503);
    const moved = Date.parse((await admin.GET('/v1/info')).data!.time as string);
    assert.ok(moved - Date.now() > 2 * 3600_000, 'the clock was moved');
    await emu.reset();
    assert.ok(Array.isArray((await admin.GET('/v1/admin/hosts')).data!.hosts), 'no fault outlives the reset');
    const real = Date.parse((await admin.GET('/v1/info')).data!.time as string);
    assert.ok(Math.abs(real - Date.now()) < 60_000, 'the clock is real again');
  });

  it('injects latency, and problem answers the SDK retries (429, 500, 503), reporting one that persists', async () => {
    await emu.reset();
    const admin = emu.client(emu.admins[0], { retry: { retries: 2, baseDelayMs: 10 } });
    await emu.faults.set([{ kind: 'latency', route: 'GET /v1/admin/hosts', ms: 400 }]);
    const t0 = performance.now();
    await admin.GET('/v1/admin/hosts');
    assert.ok(performance.now() - t0 >= 400);
    for (const status of [429, 500, 503] as const) {
      await emu.faults.set([{ kind: 'problem', route: 'POST /v1/admin/hosts', status, times: 1 }]);
      await emu.recorder.clear();
      const host = (await admin.POST('/v1/admin/hosts', { body: { name: `h-${status}`, vcpus: 4, memoryMiB: 4096, diskGiB: 10 } })).data!;
      assert.ok(host.id.startsWith('hst_'));
      const tries = (await emu.recorder.entries()).filter((e: any) => e.method === 'POST' && e.url === '/v1/admin/hosts');
      assert.deepEqual(
        tries.map((e: any) => e.status),
        [status, 201],
        `${status} then a retry that succeeds`,
      );
    }
    await emu.faults.set([{ kind: 'problem', route: 'POST /v1/admin/hosts', status: 500 }]);
    await assert.rejects(
      admin.POST('/v1/admin/hosts', { body: { name: 'h-500', vcpus: 4, memoryMiB: 4096, diskGiB: 10 } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'internal_error' && e.problem.injected === true,
    );
    // The injected failure is recorded like any failure.
    const provider = await records(admin, 'provider');
    assert.ok(provider.some((r) => r.action === 'host.create' && r.outcome === 'failed' && r.reason === 'internal_error'));
    await emu.faults.clear();
    assert.equal((await emu.info()).emulator && ((await emu.info()).emulator as { faults: number }).faults, 0);
  });

  it('a D1 failure inside the audit batch withholds the answer (503 audit_unavailable) and commits nothing; the SDK retry then writes once', async () => {
    await emu.reset();
    const { tenant, vm, toolstack } = await emu.provisionTenant();
    const log = `tenants/${tenant}`;
    const before = (await records(toolstack.api, log)).length;
    await emu.faults.set([{ kind: 'audit-batch', route: 'PUT /v1/tenants/*/vms/*/memory/pages' }]);
    const contents = new GuestContents(emu.client(toolstack, { scope: ['memory:read', 'memory:write', 'keys'], retry: { retries: 0 } }), await newKeystore());
    const target = { tenant, space: 'memory' as const, resource: vm };
    await assert.rejects(
      contents.write(target, 0, new TextEncoder().encode('never stored')),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'audit_unavailable',
    );
    await emu.faults.clear();
    // JSON (no Accept for frames), so the answer is the JSON form of the two the route has.
    const pages = (await toolstack.api.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages', { params: { path: { tenant, vm }, query: { start: 0, count: 1 } } }))
      .data as components['schemas']['Pages'];
    assert.equal(pages.pages.length, 0, 'no page version was committed');
    const after = await records(toolstack.api, log);
    assert.ok(!after.slice(before).some((r) => r.action === 'vm.memory.write'), 'and no record of the write');
    // Once, then the SDK's retry (same Idempotency-Key) succeeds: exactly one version.
    await emu.faults.set([{ kind: 'audit-batch', route: 'PUT /v1/tenants/*/vms/*/memory/pages', times: 1 }]);
    const retrying = new GuestContents(
      emu.client(toolstack, { scope: ['memory:read', 'memory:write', 'keys'], retry: { retries: 2, baseDelayMs: 10 } }),
      await newKeystore(),
    );
    await retrying.write(target, 0, new TextEncoder().encode('stored once'));
    const written = (await toolstack.api.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages', { params: { path: { tenant, vm }, query: { start: 0, count: 1 } } }))
      .data as components['schemas']['Pages'];
    assert.equal(written.pages[0]!.version, 1);
    await verified(toolstack.api, log);
  });

  it('a crash between commit and answer never runs the request twice: the key was committed in the same batch', async () => {
    await emu.reset();
    const { tenant, owner } = await emu.provisionTenant();
    const api = emu.client(owner, { retry: { retries: 0 } });
    const create = (name: string, key: string) =>
      api.POST('/v1/tenants/{tenant}/disks', { params: { path: { tenant } }, body: { name, sizeGiB: 8 }, headers: { 'Idempotency-Key': key } });
    await emu.faults.set([{ kind: 'crash-after-commit', route: 'POST /v1/tenants/*/disks', times: 1 }]);
    await assert.rejects(create('data', 'disk-once'), (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'internal_error');
    const disks = async () => (await api.GET('/v1/tenants/{tenant}/disks', { params: { path: { tenant } } })).data!.disks.map((d) => d.name);
    assert.deepEqual(await disks(), ['data'], 'the crashed request did commit');
    // At once, the key reads as done by that request — never as free, nor as still in flight.
    let lost: CustodesApiError | undefined;
    await create('data', 'disk-once').catch((e: unknown) => (lost = e as CustodesApiError));
    assert.equal(lost?.problem.code, 'idempotency_response_lost');
    // The SDK's own retry of that 500 learns the same, in one call.
    await emu.faults.set([{ kind: 'crash-after-commit', route: 'POST /v1/tenants/*/disks', times: 1 }]);
    const retrying = emu.client(owner, { retry: { retries: 2, baseDelayMs: 10 } });
    await assert.rejects(
      retrying.POST('/v1/tenants/{tenant}/disks', { params: { path: { tenant } }, body: { name: 'cache', sizeGiB: 8 } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'idempotency_response_lost',
    );
    assert.deepEqual((await disks()).sort(), ['cache', 'data'], 'created once, by the crashed attempt');
    await api.DELETE('/v1/tenants/{tenant}/disks/{disk}', {
      params: {
        path: { tenant, disk: (await api.GET('/v1/tenants/{tenant}/disks', { params: { path: { tenant } } })).data!.disks.find((d) => d.name === 'cache')!.id },
      },
    });
    const [created] = (await records(owner.api, `tenants/${tenant}`)).filter((r) => r.action === 'disk.create' && r.outcome === 'allowed');
    assert.equal((lost!.problem as { originalRequestId?: string }).originalRequestId, created.requestId, 'the problem names the request that did it');
    assert.deepEqual(await disks(), ['data'], 'and nothing ran twice');
    // A failure of the batch itself (nothing committed, the key's mark with it) frees the key: the retry runs.
    await emu.faults.set([{ kind: 'audit-batch', route: 'POST /v1/tenants/*/disks', times: 1 }]);
    await assert.rejects(create('logs', 'disk-twice'), (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'audit_unavailable');
    assert.equal((await create('logs', 'disk-twice')).response.status, 201);
    assert.deepEqual((await disks()).sort(), ['data', 'logs']);
    await verified(owner.api, `tenants/${tenant}`);
  });

  it("a crash between a change's step and its notices loses no notice: the outbox committed with the step, and the next read of the tenant's log delivers it, once", async () => {
    await emu.reset();
    const { tenant, vm, owner } = await emu.provisionTenant();
    const [first, second] = emu.admins.map((a) => emu.client(a, { retry: { retries: 0 } }));
    const change = (await first!.DELETE('/v1/admin/vms/{vm}', { params: { path: { vm } } })).data as unknown as { id: string };
    const pending = async () => ((await emu.info()) as { emulator: { pendingNotices: number } }).emulator.pendingNotices;
    assert.equal(await pending(), 0, "the proposal's notice was delivered before its answer");
    await emu.faults.set([{ kind: 'crash-after-commit', route: 'POST /v1/admin/changes/*', times: 1 }]);
    await assert.rejects(
      second!.POST('/v1/admin/changes/{change}:approve', { params: { path: { change: change.id } } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'internal_error',
    );
    // The step committed (the VM is gone, the provider log has it) and its notice waits in the outbox, committed in the same batch.
    await assert.rejects(
      first!.GET('/v1/admin/vms/{vm}', { params: { path: { vm } } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'not_found',
    );
    const step = (await records(first!, 'provider')).find((r) => r.action === 'change.approve' && r.outcome === 'allowed' && r.details?.change === change.id);
    assert.ok(step, 'the approval is in the provider log');
    assert.equal(await pending(), 1);
    // Reading the tenant's log first finishes the outbox: the notice is there, naming the step; concurrent readers deliver it once.
    const seen = await Promise.all([records(owner.api, `tenants/${tenant}`), records(owner.api, `tenants/${tenant}`), records(owner.api, `tenants/${tenant}`)]);
    for (const log of seen) {
      const notices = log.filter((r) => r.details?.change === change.id && r.details?.state === 'executed');
      assert.equal(notices.length, 1, 'exactly one notice of the executed step');
      assert.deepEqual(notices[0].details.primary, { log: 'provider', index: step.index });
    }
    assert.equal(await pending(), 0);
    await verified(owner.api, `tenants/${tenant}`);
    await verified(first!, 'provider');
  });

  it("names where a request's time went in Server-Timing: token, key, D1 by phase, the sequencer's queue, signing and batch", async () => {
    await emu.reset();
    const { tenant, owner } = await emu.provisionTenant();
    const spans = (res: Response) =>
      Object.fromEntries(
        (res.headers.get('Server-Timing') ?? '').split(',').map((entry) => {
          const [name, ...params] = entry.trim().split(';');
          return [name, Number(params.find((p) => p.startsWith('dur='))?.slice(4))];
        }),
      );
    let seen: Response | undefined;
    const api = emu.client(owner, { fetch: (async (input: RequestInfo | URL, init?: RequestInit) => (seen = await fetch(input, init))) as typeof fetch });
    await api.POST('/v1/tenants/{tenant}/disks', { params: { path: { tenant } }, body: { name: 'timed', sizeGiB: 8 } });
    const created = spans(seen!);
    // No `ratelimit` here: a principal's requests are counted in blocks of 40, so most make no binding call.
    for (const name of ['token', 'key', 'd1.handler', 'sequencer', 'seq.queue', 'seq.sign', 'seq.checkpoint', 'seq.batch', 'total']) {
      assert.ok(Number.isFinite(created[name]), `${name} in ${seen!.headers.get('Server-Timing')}`);
    }
    assert.ok(created.total! >= created.sequencer! && created.sequencer! >= created['seq.batch']!, 'the parts nest inside the whole');
    await api.GET('/v1/tenants/{tenant}/disks', { params: { path: { tenant } } });
    const listed = spans(seen!);
    assert.ok(Number.isFinite(listed['d1.handler']) && Number.isFinite(listed.sequencer), 'a read is recorded through the sequencer too');
  });

  it('moves the clock: a change request expires after a 73 h jump, and records say their time is emulated', async () => {
    await emu.reset();
    const { vm } = await emu.provisionTenant();
    const [first, second] = emu.admins.map((a) => emu.client(a));
    const change = (await first!.DELETE('/v1/admin/vms/{vm}', { params: { path: { vm } } })).data as unknown as { id: string };
    await emu.clock.advance(73 * 3600);
    assert.ok(emu.clock.now() - Date.now() >= 73 * 3600 * 1000 - 1000);
    await assert.rejects(
      second!.POST('/v1/admin/changes/{change}:approve', { params: { path: { change: change.id } } }),
      (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'change_expired',
    );
    const log = await records(first!, 'provider');
    const late = log.at(-1);
    assert.deepEqual(late.clock, { emulated: true, offsetMs: 73 * 3600 * 1000 });
    assert.ok(Date.parse(late.time) - Date.now() > 72 * 3600 * 1000);
    assert.ok(log.some((r) => r.action === 'emulator.clock.set' && r.details.advancedSeconds === 73 * 3600));
    // A token minted on the real clock is now long expired.
    const stale = emu.client(emu.admins[0], { clock: Date.now });
    await assert.rejects(stale.GET('/v1/admin/hosts'), (e: unknown) => e instanceof CustodesApiError && e.problem.code === 'token_expired');
    // A client on this machine's clock (as the console's) follows the moved one, even when its first requests leave together.
    const following = createApiClient({ baseUrl: emu.url, key: emu.admins[0]!.key, principal: emu.admins[0]!.id });
    const together = await Promise.all(Array.from({ length: 6 }, () => following.GET('/v1/admin/hosts')));
    assert.ok(together.every((r) => r.response.status === 200));
    await verified(first!, 'provider');
  });

  it('records requests for a HAR export that holds no token and no envelope', async () => {
    await emu.reset();
    const { tenant, vm, toolstack } = await emu.provisionTenant();
    const contents = new GuestContents(toolstack.api, await newKeystore());
    const target = { tenant, space: 'memory' as const, resource: vm };
    await contents.write(target, 0, new TextEncoder().encode('a secret page'));
    await contents.read(target, 0, 13);
    const har = await emu.recorder.har();
    const text = JSON.stringify(har);
    assert.ok(har.log.entries.length >= 6);
    const write = (har.log.entries as any[]).find((e) => e.request.method === 'PUT' && e.request.url.endsWith('/memory/pages'));
    assert.equal(write.response.status, 200);
    assert.match(write._custodesAudit, /^log=tenants\/ten_\w+; index=\d+$/);
    assert.ok(write.request.headers.some((h: any) => h.name === 'authorization' && h.value === 'Bearer [redacted]'));
    assert.doesNotMatch(text, /Bearer ey/);
    assert.doesNotMatch(text, /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, 'no compact JWS/JWT anywhere');
    assert.doesNotMatch(text, /"envelope":"(?!\[redacted\])/);
    assert.doesNotMatch(text, /AQ[A-Za-z0-9+/]{200,}/, 'no envelope bytes (0x01 … in base64)');
  });
});

describe('a Worker without emulator mode (the deployed bundle)', () => {
  it('answers every control like a path it has no route for, and reports mode service', async () => {
    const { dir } = await buildWorker();
    // The manifest's bindings and a signing key: what a deployment has, and no CUSTODES_EMULATOR.
    const { mf, url } = await launchWorker({ workerDir: dir, bindings: { AUDIT_SIGNING_JWK: JSON.stringify(await generatePrincipalKey()) } });
    try {
      const unknown = await fetch(new URL('/no-such-path', url));
      const unknownBody = (await unknown.json()) as { detail: string };
      for (const [method, path] of CONTROLS) {
        const res = await fetch(new URL(`/_emulator/${path}`, url), {
          method,
          ...(method === 'GET' ? {} : { headers: { 'Content-Type': 'application/json' }, body: '{}' }),
        });
        assert.equal(res.status, 404, `${method} ${path}`);
        const body = (await res.json()) as { code: string; detail: string };
        assert.equal(body.code, 'route_not_found');
        assert.deepEqual(
          { ...body, detail: body.detail.replace(/\/_emulator\/[^;\s]+/, '…'), requestId: '' },
          { ...unknownBody, detail: unknownBody.detail.replace(/\/no-such-path/, '…').replace('GET', method), requestId: '' },
        );
      }
      const infoResponse = await fetch(new URL('/v1/info', url));
      const info = (await infoResponse.json()) as { mode: string; emulator: unknown };
      assert.equal(info.mode, 'service');
      assert.equal(info.emulator, null);
      assert.equal(infoResponse.headers.get('Server-Timing'), null, 'a deployment does not describe its timings to callers');
    } finally {
      await mf.dispose();
    }
  });
});
