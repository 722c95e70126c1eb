/**
 * Rotation after an exposure (docs/design.md §6: "if regions corresponding to a
 * password or encryption keys are read, users can change [them] before
 * incurring any further damage"). For the labels named:
 *
 * 1. the data keys to retire: those that sealed the versions the exposure
 *    report says were read, and the keystore's current key;
 * 2. a new data key, wrapped under the tenant's KEK and parked with the
 *    provider; it becomes the keystore's current key;
 * 3. every current page of the tenant — the verified log says which pages
 *    are written — that is sealed with a retired key is opened here and
 *    sealed again under the new key (new versions, audited as writes);
 * 4. the rotation is recorded (`POST …/recovery/rotations`): the retired
 *    keys' wrapped copies are deleted in that same audited batch, so the
 *    versions sealed with them — what the attacker read among them — can no
 *    longer be opened by anyone holding only the provider's state, and the
 *    exposure report shows each earlier read as rotated.
 *
 * The plaintext of the re-sealed pages exists only in this process. The
 * caller should persist the keystore (`onKeystoreChange`) and the rotation
 * needs the `audit:read`, `keys`, `recovery` and the contents' read and write
 * scopes.
 */
import type { ApiClient, components } from './client.ts';
import { auditSource } from './audit-source.ts';
import { verifyAuditLog } from './audit-verify.ts';
import { envelopeKeyId, keyIdHex, PAGE_BYTES, type Space } from './envelope.ts';
import { GuestContents, latestWritesFromLog, pageVersionEnvelope, type ContentTarget } from './guest-contents.ts';
import { wrappedKeyName, type Keystore } from './keystore.ts';
import { base64ToBytes } from '../lib/bytes.ts';
import { jwsPayload } from '../audit/format/jws.ts';

export interface RotationOptions {
  tenant: string;
  labels: string[];
  /** Called when the keystore's current key changes: persist it. */
  onKeystoreChange?: (keystore: Keystore) => void;
}

export interface RotationResult {
  /** Data keys retired (hex ids); their wrapped copies are gone from the provider. */
  retired: string[];
  /** The new current data key (hex id), or null when no page needed re-sealing. */
  newKey: string | null;
  /** Pages re-sealed, by target. */
  resealed: { target: ContentTarget; pages: number[] }[];
  /** The rotation's record in the tenant's log. */
  auditIndex: number;
  rotatedAt: string;
}

export async function rotateDataKeys(api: ApiClient, keystore: Keystore, options: RotationOptions): Promise<RotationResult> {
  const { tenant, labels, onKeystoreChange } = options;
  const log = `tenants/${tenant}`;
  // The page inventory comes from the log, so verify it first.
  const verified = await verifyAuditLog(auditSource(api, log), { log });
  if (!verified.ok) throw new Error(`the tenant's log does not verify, so it cannot say which pages to re-seal: ${verified.error}`);

  // 1. Which keys sealed what was read.
  const retire = new Set<string>(keystore.currentDataKey ? [keystore.currentDataKey] : []);
  for (const label of labels) {
    const report = (await api.GET('/v1/tenants/{tenant}/exposure', { params: { path: { tenant }, query: { label, pageSize: 1 } } })).data!;
    const exposure = report.labels[0];
    if (!exposure) throw new Error(`label ${label} does not exist`);
    const target = 'vm' in exposure ? ({ space: 'memory', resource: exposure.vm } as const) : ({ space: 'disk', resource: exposure.disk } as const);
    for (const read of exposure.reads)
      for (const page of read.pages) retire.add(keyIdHex(envelopeKeyId(await pageVersionEnvelope(api, { tenant, ...target }, page.index, page.version))));
  }

  // 2–3. Every current page sealed with a retired key, re-sealed under a new one.
  const records: { jws: string }[] = [];
  for (let from = 0; ; ) {
    const page = await auditSource(api, log).records(from, 1000);
    records.push(...page.records);
    if (page.next === undefined || page.records.length === 0) break;
    from = page.next;
  }
  const targets = new Map<string, ContentTarget>();
  for (const { jws } of records) {
    const record = jwsPayload<{ outcome: string; regions?: { space: Space; resource: string; access: string }[] }>(jws);
    if (record.outcome !== 'allowed') continue;
    for (const r of record.regions ?? []) if (r.access !== 'read') targets.set(`${r.space}/${r.resource}`, { tenant, space: r.space, resource: r.resource });
  }
  const contents = new GuestContents(api, keystore, onKeystoreChange);
  const plaintexts: { target: ContentTarget; index: number; bytes: Uint8Array }[] = [];
  for (const target of targets.values()) {
    const latest = latestWritesFromLog(records, target);
    const written = [...latest]
      .filter(([, v]) => v.version > 0)
      .map(([index]) => index)
      .sort((a, b) => a - b);
    for (const index of written) {
      const current = await currentEnvelope(api, target, index);
      if (!current || !retire.has(keyIdHex(envelopeKeyId(current)))) continue;
      // Against the log just read: it holds any recovery's rollback, which this keystore's own memory of its writes does not.
      plaintexts.push({ target, index, bytes: await contents.read(target, index * PAGE_BYTES, PAGE_BYTES, { latest }) });
    }
  }
  // Sealing with the current key would keep a retired one: the next write makes a new key.
  delete keystore.currentDataKey;
  onKeystoreChange?.(keystore);
  const resealed = new Map<string, { target: ContentTarget; pages: number[] }>();
  for (const { target, index, bytes } of plaintexts) {
    await contents.write(target, index * PAGE_BYTES, bytes);
    const entry =
      resealed.get(`${target.space}/${target.resource}`) ??
      resealed.set(`${target.space}/${target.resource}`, { target, pages: [] }).get(`${target.space}/${target.resource}`)!;
    entry.pages.push(index);
  }

  // 4. Retire: the wrapped copies go, in the rotation's own audited batch.
  const retiredIds: string[] = [];
  for (const hex of retire) {
    const found = (await api.GET('/v1/tenants/{tenant}/keys', { params: { path: { tenant }, query: { name: wrappedKeyName(hex) } } })).data!.keys[0];
    if (found) retiredIds.push(found.id);
  }
  if (retiredIds.length === 0) throw new Error('no wrapped data key to retire: nothing of these labels was sealed with a key the provider holds');
  const recorded = (
    await api.POST('/v1/tenants/{tenant}/recovery/rotations', {
      params: { path: { tenant } },
      body: { labels, retire: retiredIds, resealed: plaintexts.length },
    })
  ).data!;
  return {
    retired: [...retire],
    newKey: keystore.currentDataKey ?? null,
    resealed: [...resealed.values()],
    auditIndex: recorded.auditIndex,
    rotatedAt: recorded.rotatedAt,
  };
}

async function currentEnvelope(api: ApiClient, target: ContentTarget, index: number): Promise<Uint8Array | null> {
  const query = { start: index, count: 1 };
  // JSON (no Accept for frames): one page, the answer's other form is not asked for.
  const data = (
    target.space === 'memory'
      ? (await api.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages', { params: { path: { tenant: target.tenant, vm: target.resource }, query } })).data!
      : (await api.GET('/v1/tenants/{tenant}/disks/{disk}/blocks', { params: { path: { tenant: target.tenant, disk: target.resource }, query } })).data!
  ) as components['schemas']['Pages'];
  const page = data.pages[0];
  return page ? base64ToBytes(page.envelope) : null;
}
