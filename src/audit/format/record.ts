/**
 * The audit record (docs/design.md §5): canonical JSON (RFC 8785) signed as a compact
 * JWS whose payload bytes are the Merkle leaf. `regions` is filled by content
 * access (memory pages, disk blocks): exactly what was read or written, with
 * each version and its ciphertext SHA-256, so exposure and recovery can be
 * computed from the log alone.
 */
import type { Space } from '../../lib/envelope-format';
import { canonicalJson, jsonOf, type JsonValue } from './canonical-json';
import { signBytes, type AuditSigningKey } from '../signing/signing-key';
import { base64urlOf as b64url } from '../../lib/bytes';

export type ActorType = 'admin' | 'tenant' | 'toolstack' | 'anonymous' | 'system';
export type Outcome = 'allowed' | 'denied' | 'failed';

export interface Actor {
  type: ActorType;
  id: string | null;
  kid: string | null;
  jti: string | null;
  /** The token's `sid` claim (its client session), when it has one. */
  sid?: string;
  ip: string | null;
}

/** A request's session for recovery (docs/design.md §6): its token's `sid`, else its single-use `jti`. */
export const sessionOf = (actor: Actor): string | null => actor.sid ?? actor.jti;

export interface Target {
  type: string;
  id: string;
}

export interface Region {
  space: Space;
  /** VM id (memory) or disk id. */
  resource: string;
  index: number;
  version: number;
  /** `sha256:` + hex of the envelope bytes; null only for a rollback to unwritten (version 0). */
  digest: string | null;
  /**
   * `read` and `write` are the action's own accesses (the information-flow
   * index, docs/design.md §6); `rollback` is a recovery moving the page back to an
   * existing version (or to unwritten, version 0), which reads and writes no
   * content.
   */
  access: 'read' | 'write' | 'rollback';
  /** A server-side copy (snapshot restore): the version of the same page this version copies. */
  copyOf?: number;
}

/** What a request contributes; the sequencer adds `v`, `log`, `index` and `time`. */
export interface RecordDraft {
  requestId: string;
  actor: Actor;
  action: string;
  target: Target | null;
  outcome: Outcome;
  /** Problem code for denied/failed outcomes. */
  reason: string | null;
  request: { method: string; path: string };
  /** HTTP status, for requests recorded after their response was formed (reads, denials, failures). */
  status?: number;
  regions?: Region[];
  details?: { [key: string]: JsonValue };
  /** Emulator mode with the clock moved (src/platform/clock.ts): the record's `time` is on that clock, and says so. */
  clock?: { emulated: true; offsetMs: number };
}

/** A record's time: the real one, or the emulated clock its draft names. */
export const draftTime = (draft: Pick<RecordDraft, 'clock'>): number => Date.now() + (draft.clock?.offsetMs ?? 0);

export interface AuditRecord extends RecordDraft {
  v: 1;
  log: string;
  index: number;
  time: string;
}

export const JWS_TYPE = 'custodes-audit+json';

/** Signs a record; returns the compact JWS and its payload (the leaf bytes). */
export async function signRecord(record: AuditRecord, key: AuditSigningKey): Promise<{ jws: string; payload: Uint8Array }> {
  const payload = new TextEncoder().encode(canonicalJson(jsonOf(record)));
  const header = b64url(new TextEncoder().encode(JSON.stringify({ alg: 'EdDSA', kid: key.kid, typ: JWS_TYPE })));
  const signingInput = `${header}.${b64url(payload)}`;
  const signature = await signBytes(key, new TextEncoder().encode(signingInput));
  return { jws: `${signingInput}.${b64url(signature)}`, payload };
}
