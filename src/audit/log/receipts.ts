/**
 * Audit receipts: what a caller learns of its request's record when it may
 * not read the log that holds it (docs/decisions.md, "No ownership oracle").
 *
 * `Custodes-Audit: log=…; index=…` would tell an outsider which tenant owns
 * an id and how busy its log is. So a caller who may not read the log gets
 * `Custodes-Audit: receipt=…` instead: the record's place (or, for a refusal
 * counted into a summary, its window), sealed with AES-256-GCM under a key
 * derived from the audit signing key (HKDF-SHA-256, RFC 5869). Every receipt
 * has the same length and looks random, so it reveals neither the log nor
 * its size. The log's owner (or, for the provider log, an auditor) opens it at
 * `…/audit/receipts/{receipt}` to find the record.
 */
const RECEIPT_INFO = new TextEncoder().encode('custodes/v1 audit receipt');
/** The sealed plaintext is padded to this size, so receipts of every log have one length. */
const PLAINTEXT_BYTES = 96;
const NONCE_BYTES = 12;

export type ReceiptBody = { log: string; index: number } | { log: string; window: number };

const keys = new Map<string, Promise<CryptoKey>>();

function receiptKey(auditSigningJwk: string): Promise<CryptoKey> {
  let key = keys.get(auditSigningJwk);
  if (!key) {
    const d = Buffer.from((JSON.parse(auditSigningJwk) as { d: string }).d, 'base64url');
    key = crypto.subtle
      .importKey('raw', d, 'HKDF', false, ['deriveKey'])
      .then((ikm) =>
        crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: RECEIPT_INFO }, ikm, { name: 'AES-GCM', length: 256 }, false, [
          'encrypt',
          'decrypt',
        ]),
      );
    keys.set(auditSigningJwk, key);
  }
  return key;
}

export async function sealReceipt(auditSigningJwk: string, body: ReceiptBody): Promise<string> {
  const json = JSON.stringify('index' in body ? { l: body.log, i: body.index } : { l: body.log, w: body.window });
  const plaintext = new Uint8Array(PLAINTEXT_BYTES).fill(0x20);
  plaintext.set(new TextEncoder().encode(json));
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, await receiptKey(auditSigningJwk), plaintext));
  return Buffer.concat([nonce, sealed]).toString('base64url');
}

/** The record a receipt names, or null when it is not a receipt of this server's. */
export async function openReceipt(auditSigningJwk: string, receipt: string): Promise<ReceiptBody | null> {
  const bytes = Buffer.from(receipt, 'base64url');
  if (bytes.length !== NONCE_BYTES + PLAINTEXT_BYTES + 16) return null;
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, NONCE_BYTES) },
      await receiptKey(auditSigningJwk),
      bytes.subarray(NONCE_BYTES),
    );
    const { l, i, w } = JSON.parse(new TextDecoder().decode(plaintext)) as { l: string; i?: number; w?: number };
    return typeof i === 'number' ? { log: l, index: i } : { log: l, window: w! };
  } catch {
    return null;
  }
}
