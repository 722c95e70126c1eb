/** The audit record of an emulator control (emulator.index.ts): by `system/emulator`, in the provider log. */
import type { AuditedAction } from '../audit/actions';
import type { JsonValue } from '../audit/format/canonical-json';
import type { RecordDraft } from '../audit/format/record';
import { emulatedClock } from '../audit/request/request-audit';

export const emulatorDraft = (
  requestId: string,
  action: AuditedAction,
  request: { method: string; path: string },
  ip: string | null,
  details: { [key: string]: JsonValue },
): RecordDraft => ({
  requestId,
  actor: { type: 'system', id: 'emulator', kid: null, jti: null, ip },
  action,
  target: null,
  outcome: 'allowed',
  reason: null,
  request,
  details,
  ...emulatedClock(),
});
