/**
 * Client sessions for recovery tests: a principal whose tokens all carry one
 * `sid`, as the SDK's do, with helpers to write and read a VM's memory.
 */
import { call, expectStatus, mintToken, type Signer } from './api';

export interface Session {
  signer: Signer;
  sid: string;
  token(): Promise<string>;
}

/** A session of `signer`; a toolstack's tokens ask for its whole ceiling, an owner's for every scope it uses here. */
export function session(
  signer: Signer & { record?: { scopes: string[] } },
  scopes = signer.record?.scopes ?? ['memory:read', 'memory:write', 'snapshot', 'labels', 'recovery', 'audit:read', 'vm:control'],
): Session {
  const sid = crypto.randomUUID();
  return { signer, sid, token: () => mintToken(signer, { claims: { scope: scopes.join(' '), sid } }) };
}

const pagesPath = (tenant: string, vm: string) => `/v1/tenants/${tenant}/vms/${vm}/memory/pages`;

/** Writes `pages` (index → envelope); answers the written versions and the record's index. */
export async function writePages(
  s: Session,
  tenant: string,
  vm: string,
  pages: Record<number, string>,
): Promise<{ pages: { index: number; version: number }[]; auditIndex: number }> {
  const body = { pages: Object.entries(pages).map(([index, envelope]) => ({ index: Number(index), envelope })) };
  return expectStatus(call('PUT', pagesPath(tenant, vm), { token: await s.token(), body }), 200);
}

/** Reads [start, start+count): index → {version, envelope}, and the read's record index. */
export async function readPages(
  s: Session,
  tenant: string,
  vm: string,
  start: number,
  count: number,
): Promise<{ pages: Map<number, { version: number; envelope: string }>; auditIndex: number }> {
  const res = await call('GET', `${pagesPath(tenant, vm)}?start=${start}&count=${count}`, { token: await s.token() });
  const audit = /index=(\d+)/.exec(res.headers.get('Custodes-Audit') ?? '');
  const body = await expectStatus<{ pages: { index: number; version: number; envelope: string }[] }>(res, 200);
  return { pages: new Map(body.pages.map((p) => [p.index, { version: p.version, envelope: p.envelope }])), auditIndex: Number(audit?.[1]) };
}
