/**
 * Audit key rotation under the two-person rule (docs/design.md §5, §7). The key that
 * signs records comes from the deployment (env `AUDIT_SIGNING_JWK`); a new one
 * signs only once a change request naming its public half was approved by a
 * second `security` admin. Until then a Worker given that key refuses to serve
 * (audit/signing/audit-key-registry.ts): no single admin can swap the key that tenants verify.
 */
import { eq } from 'drizzle-orm';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { write, type Commit } from '../../audit/log/commit';
import type { JsonValue } from '../../audit/format/canonical-json';
import type { Database } from '../../platform/db/client';
import { auditKeys } from '../../platform/db/schema';
import { fail, ok, type Result } from '../../lib/result';
import type { Proposal } from '../changes/two-person-rule';
import { nowIso } from '../../platform/clock';

/** The change request approving `publicKey` as the next audit signing key. */
export async function rotationProposal(db: Database, publicKey: JWK): Promise<Result<Proposal, 'invalid_request' | 'name_taken'>> {
  if (publicKey.kty !== 'OKP' || publicKey.crv !== 'Ed25519' || typeof publicKey.x !== 'string' || 'd' in publicKey) {
    return fail('invalid_request', 'The next audit key is an Ed25519 public JWK (kty OKP, crv Ed25519, x); never send its private half.');
  }
  const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: publicKey.x };
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const [known] = await db.select({ state: auditKeys.state }).from(auditKeys).where(eq(auditKeys.kid, kid));
  if (known) return fail('name_taken', `Audit key ${kid} is already ${known.state}.`);
  return ok({
    operation: 'audit.rotate',
    target: { type: 'audit-key', id: kid },
    tenants: [],
    params: { publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' } },
    requiredRole: 'security',
    targetRevision: null,
  });
}

/**
 * Executes an approved rotation: the key may sign from the first request a
 * Worker serves with it, once the active key has signed the hand-over to it
 * (audit/signing/key-handover.ts; the approval's handler asks for that).
 */
export async function approveAuditKey(db: Database, commit: Commit, kid: string, publicJwk: JWK, changeId: string): Promise<Result<JsonValue, 'name_taken'>> {
  const committed = await commit([
    write(db.insert(auditKeys).values({ kid, publicJwk: JSON.stringify(publicJwk), state: 'approved', activatedAt: nowIso(), changeId })),
  ]);
  if (committed.ok) return ok({ kid, state: 'approved' });
  return fail('name_taken', `Audit key ${kid} became known meanwhile.`);
}
