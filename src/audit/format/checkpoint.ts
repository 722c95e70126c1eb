/** Signing a log's checkpoint: a C2SP note over (origin, size, root) by the audit key. */
import { logOrigin } from '../log/logs';
import { checkpointBody, formatSignedNote } from './note';
import { NOTE_KEY_NAME, signBytes, type AuditSigningKey } from '../signing/signing-key';

export async function signCheckpoint(log: string, size: number, root: Uint8Array, key: AuditSigningKey): Promise<string> {
  const body = checkpointBody({ origin: logOrigin(log), size, root });
  const signature = await signBytes(key, new TextEncoder().encode(body));
  return formatSignedNote(body, [{ name: NOTE_KEY_NAME, keyId: key.noteKeyId, signature }]);
}
