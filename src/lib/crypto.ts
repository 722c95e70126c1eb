/** SHA-256 as hex (WebCrypto: the Worker, Node and a browser alike). Bytes as text: ./bytes.ts. */
import { hexOf, utf8 } from './bytes';

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? utf8(data) : data;
  return hexOf(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}
