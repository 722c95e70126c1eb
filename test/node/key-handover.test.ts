/**
 * Audit key hand-over (issue 17): after approved rotations, a verifier that
 * pinned the first key follows the hand-over checkpoints — each signed by the
 * old key and the new, citing the approving record with its inclusion proof —
 * to the current key; a key with no such chain is refused. Three starts of one
 * persisted instance, each deployed with the next key, as a provider would.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { JWK } from 'jose';
import { buildWorker } from '../../scripts/build-worker';
import { auditSource, generatePrincipalKey, publicKeyOf, verifyAuditLog, type KeyHandover } from '../../src/sdk/index';
import { startCustodes, type Custodes } from '../../src/testing/index';

before(() => buildWorker());

async function rotateTo(emu: Custodes, next: JWK): Promise<string> {
  const [proposer, approver] = emu.admins.map((a) => emu.client(a));
  const change = (await proposer!.POST('/v1/admin/audit/keys', { body: { publicKey: publicKeyOf(next) as never } })).data as unknown as { id: string };
  await approver!.POST('/v1/admin/changes/{change}:approve', { params: { path: { change: change.id } } });
  return change.id;
}

describe('audit key hand-over', () => {
  it('a verifier pinned two rotations back reaches the current key through signed hand-overs, and refuses a key that appears without one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodes-handover-'));
    const adminKeys: [JWK, JWK] = [await generatePrincipalKey(), await generatePrincipalKey()];
    const keys = [await generatePrincipalKey(), await generatePrincipalKey(), await generatePrincipalKey()];
    const start = (key: JWK) => startCustodes({ persist: dir, adminKeys, bindings: { AUDIT_SIGNING_JWK: JSON.stringify(key) } });
    let emu = await start(keys[0]!);
    try {
      const { tenant, owner } = await emu.provisionTenant();
      const log = `tenants/${tenant}`;
      const pinned = await verifyAuditLog(auditSource(owner.api, log), { log });
      assert.ok(pinned.ok, pinned.ok ? '' : pinned.error);

      const changes = [await rotateTo(emu, keys[1]!)];
      await emu.close();
      emu = await start(keys[1]!);
      await emu.client(emu.admins[0]).GET('/v1/admin/hosts'); // the new key's first request activates it, countersigning its hand-over
      changes.push(await rotateTo(emu, keys[2]!));
      await emu.close();
      emu = await start(keys[2]!);
      const api = emu.client(owner);
      await api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant } } }); // the tenant's log grows under the third key

      const source = auditSource(api, log);
      const followed = await verifyAuditLog(source, { log, state: pinned.state });
      assert.ok(followed.ok, followed.ok ? '' : followed.error);
      assert.deepEqual(
        followed.handovers.map((h) => h.change),
        changes,
      );
      assert.notEqual(followed.state.vkey, pinned.state.vkey);
      assert.ok(followed.size > pinned.size);

      const { handovers } = await source.keyHandovers();
      assert.equal(handovers.length, 2);
      const refused = async (list: KeyHandover[], why: RegExp) => {
        const result = await verifyAuditLog({ ...source, keyHandovers: async () => ({ handovers: list }) }, { log, state: pinned.state });
        assert.equal(result.ok, false);
        assert.match(result.ok ? '' : result.error, why);
      };
      // No hand-over at all, or a chain with a link missing: the new key is refused.
      await refused([], /the log key changed from .* with no valid hand-over/);
      await refused([handovers[1]!], /no valid hand-over/);
      // A hand-over citing another record than the rotation's approval, or signed by one key only.
      const other = (await emu.client(emu.admins[0]).GET('/v1/admin/audit/records', { params: { query: { from: 0, limit: 1 } } })).data!.records[0]!;
      await refused(
        [{ ...handovers[0]!, approval: { ...handovers[0]!.approval, jws: other.jws } }, handovers[1]!],
        /not (signed by the key handing over|the approval of that key)/,
      );
      const [body, firstSignature] = handovers[0]!.note.split('\n\n') as [string, string];
      await refused([{ ...handovers[0]!, note: `${body}\n\n${firstSignature.split('\n')[0]}\n` }, handovers[1]!], /not signed by that key/);
      // And a verifier pinned one rotation back follows one hand-over.
      assert.equal(handovers[0]!.state, 'retired');
      assert.equal(handovers[1]!.state, 'active');
    } finally {
      await emu.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
