/**
 * Seeding: a fixture (hosts; tenants with their owners' public keys, VMs,
 * toolstacks, labels) loaded through the real API — each step is a request
 * through the app, authorized and audited like any other, on behalf of the
 * principal a client would have used (./acting-as.ts): the bootstrap admin
 * provisions, each tenant's owner creates its toolstacks and labels. So
 * seeded state verifies in the logs like everything else.
 *
 * Steps run in order and stop at the first refusal; what was made before it
 * stays made (each step is its own audited request) and is reported.
 */
import { z } from 'zod';
import type { JWK } from 'jose';
import { actAs } from './acting-as';
import { findRegisteredKey, thumbprint, type RegisteredKey } from '../auth/principals';
import type { Env } from '../env';
import { createDb } from '../platform/db/client';

const Name = z.string().min(1).max(63);
const Jwk = z.looseObject({ kty: z.string() });

export const FixtureSchema = z.strictObject({
  hosts: z
    .array(z.strictObject({ name: Name, vcpus: z.number().int(), memoryMiB: z.number().int(), diskGiB: z.number().int() }))
    .max(100)
    .default([]),
  tenants: z
    .array(
      z.strictObject({
        name: Name,
        ownerKey: Jwk,
        quota: z.strictObject({ vcpus: z.number().int(), memoryMiB: z.number().int(), diskGiB: z.number().int() }),
        vms: z
          .array(z.strictObject({ name: Name, vcpus: z.number().int(), memoryMiB: z.number().int() }))
          .max(100)
          .default([]),
        toolstacks: z
          .array(z.strictObject({ name: Name, publicKey: Jwk, scopes: z.array(z.string()), vms: z.array(Name).optional().describe('VM names of this tenant') }))
          .max(100)
          .default([]),
        labels: z
          .array(z.strictObject({ name: Name, space: z.literal('memory'), vm: Name, start: z.number().int(), count: z.number().int() }))
          .max(100)
          .default([]),
      }),
    )
    .max(100)
    .default([]),
});

export type Fixture = z.output<typeof FixtureSchema>;

export interface SeededTenant {
  id: string;
  vms: Record<string, string>;
  toolstacks: Record<string, string>;
  labels: string[];
}

export interface SeedReport {
  hosts: Record<string, string>;
  tenants: Record<string, SeededTenant>;
  /** The request id of every step, in order: each has its record in the logs. */
  requests: string[];
}

export type SeedResult = { ok: true; report: SeedReport } | { ok: false; report: SeedReport; step: string; status: number; problem: unknown };

/** Sends one request through the app. */
export type Dispatch = (request: Request) => Promise<Response>;

export async function seed(env: Env, dispatch: Dispatch, origin: string, fixture: Fixture): Promise<SeedResult> {
  const report: SeedReport = { hosts: {}, tenants: {}, requests: [] };
  // An enrolled admin who may provision: the bootstrap keys only enrol (governance/admins/bootstrap-ceremony.ts).
  const enrolled = await env.DB.prepare(
    "SELECT kid FROM admins WHERE state = 'active' AND EXISTS (SELECT 1 FROM json_each(admins.roles) WHERE json_each.value = 'provisioner') ORDER BY created_at, id LIMIT 1",
  ).first<{ kid: string }>();
  const admin = enrolled ? await findRegisteredKey(createDb(env.DB), env.BOOTSTRAP_ADMIN_JWK, enrolled.kid) : null;
  if (!admin)
    return {
      ok: false,
      report,
      step: 'admin',
      status: 409,
      problem: { detail: 'No enrolled admin holds the provisioner role: enrol one first (npm start and startCustodes enrol two).' },
    };

  class StepFailed extends Error {
    constructor(
      readonly step: string,
      readonly status: number,
      readonly problem: unknown,
    ) {
      super(step);
    }
  }
  const send = async (step: string, as: RegisteredKey, method: string, path: string, body: unknown) => {
    const request = actAs(
      new Request(new URL(path, origin), {
        method,
        headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': '127.0.0.1' },
        body: JSON.stringify(body),
      }),
      as,
    );
    const response = await dispatch(request);
    report.requests.push(response.headers.get('X-Request-Id') ?? '');
    const answer = (await response.json().catch(() => null)) as { id?: string } | null;
    if (!response.ok) throw new StepFailed(step, response.status, answer);
    return answer!;
  };

  try {
    for (const host of fixture.hosts) report.hosts[host.name] = (await send(`hosts/${host.name}`, admin, 'POST', '/v1/admin/hosts', host)).id!;
    for (const tenant of fixture.tenants) {
      const id = (
        await send(`tenants/${tenant.name}`, admin, 'POST', '/v1/admin/tenants', { name: tenant.name, ownerKey: tenant.ownerKey, quota: tenant.quota })
      ).id!;
      const seeded: SeededTenant = { id, vms: {}, toolstacks: {}, labels: [] };
      report.tenants[tenant.name] = seeded;
      for (const vm of tenant.vms)
        seeded.vms[vm.name] = (await send(`tenants/${tenant.name}/vms/${vm.name}`, admin, 'POST', `/v1/admin/tenants/${id}/vms`, vm)).id!;
      const owner = await findRegisteredKey(createDb(env.DB), env.BOOTSTRAP_ADMIN_JWK, await thumbprint(tenant.ownerKey as JWK));
      if (!owner) throw new StepFailed(`tenants/${tenant.name}/owner`, 409, { detail: 'The tenant owner key is not registered.' });
      const vmId = (step: string, name: string) =>
        seeded.vms[name] ??
        (() => {
          throw new StepFailed(step, 400, { detail: `No VM named ${name} in this tenant's fixture.` });
        })();
      for (const t of tenant.toolstacks) {
        const step = `tenants/${tenant.name}/toolstacks/${t.name}`;
        const body = { name: t.name, publicKey: t.publicKey, scopes: t.scopes, ...(t.vms ? { vms: t.vms.map((name) => vmId(step, name)) } : {}) };
        seeded.toolstacks[t.name] = (await send(step, owner, 'POST', `/v1/tenants/${id}/toolstacks`, body)).id!;
      }
      for (const label of tenant.labels) {
        const step = `tenants/${tenant.name}/labels/${label.name}`;
        await send(step, owner, 'PUT', `/v1/tenants/${id}/labels/${encodeURIComponent(label.name)}`, {
          space: label.space,
          vm: vmId(step, label.vm),
          start: label.start,
          count: label.count,
        });
        seeded.labels.push(label.name);
      }
    }
  } catch (error) {
    if (error instanceof StepFailed) return { ok: false, report, step: error.step, status: error.status, problem: error.problem };
    throw error;
  }
  return { ok: true, report };
}
