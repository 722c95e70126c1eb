/**
 * Bytes as text, one module for the Worker, the SDK, the CLI and the console
 * (issue 33): hex (RFC 4648 §8, lower case), base64 (§4, padded) and base64url
 * (§5, unpadded, as JOSE writes it — RFC 7515 §2).
 *
 * Why a fast path: the Worker (nodejs_compat) and Node have `Buffer`, whose
 * codecs are native and several times faster than a loop — base64 of page
 * envelopes is on the hot path of every content read and write. A browser has
 * none, and gets the portable loops below; both give the same text.
 *
 * Decoders are strict: text that is not exactly the encoding (a stray
 * character, base64url in base64, missing padding) throws, where Buffer would
 * skip or accept it silently.
 */
interface NodeBuffer {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
  toString(encoding: 'hex' | 'base64' | 'base64url'): string;
}
interface NodeBufferClass {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBuffer;
  from(text: string, encoding: 'hex' | 'base64' | 'base64url'): NodeBuffer;
}
/** The codecs over `native` (`Buffer`, where the runtime has one), or the portable loops without it. */
export function bytesCodecs(native: NodeBufferClass | undefined) {
  /** A plain Uint8Array of a Buffer's bytes (a Buffer may share a pooled ArrayBuffer). */
  const copyOf = (b: NodeBuffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
  /** A Buffer over the same memory, to encode from: `Buffer.from(Uint8Array)` would copy every byte first (a page write's 64 envelopes). */
  const over = (bytes: Uint8Array): NodeBuffer => native!.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  function hexOf(bytes: Uint8Array | ArrayBuffer): string {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    if (native) return over(view).toString('hex');
    let text = '';
    for (const byte of view) text += byte.toString(16).padStart(2, '0');
    return text;
  }

  /**
   * Native decoders skip what is not the encoding and accept variants; a text
   * is taken only if encoding its bytes gives it back (cheaper than a regex:
   * ~4× on a 5.5 KB envelope).
   */
  function strictly(text: string, encoding: 'hex' | 'base64' | 'base64url', canonical: (t: string) => string, refusal: string): Uint8Array {
    const decoded = native!.from(text, encoding);
    if (decoded.toString(encoding) !== canonical(text)) throw new Error(refusal);
    return copyOf(decoded);
  }

  function hexToBytes(text: string): Uint8Array {
    if (native) return strictly(text, 'hex', (t) => t.toLowerCase(), HEX_REFUSAL);
    if (!HEX.test(text)) throw new Error(HEX_REFUSAL);
    const bytes = new Uint8Array(text.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return bytes;
  }

  function base64Of(bytes: Uint8Array): string {
    return native ? over(bytes).toString('base64') : btoa(binaryOf(bytes));
  }

  function base64ToBytes(text: string): Uint8Array {
    if (native) return strictly(text, 'base64', (t) => t, BASE64_REFUSAL);
    if (!BASE64.test(text)) throw new Error(BASE64_REFUSAL);
    return bytesOfBinary(atob(text));
  }

  function base64urlOf(bytes: Uint8Array): string {
    return native ? over(bytes).toString('base64url') : btoa(binaryOf(bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function base64urlToBytes(text: string): Uint8Array {
    if (native) return strictly(text, 'base64url', (t) => t, BASE64URL_REFUSAL);
    if (!BASE64URL.test(text) || text.length % 4 === 1) throw new Error(BASE64URL_REFUSAL);
    return bytesOfBinary(atob(text.replace(/-/g, '+').replace(/_/g, '/')));
  }

  return { hexOf, hexToBytes, base64Of, base64ToBytes, base64urlOf, base64urlToBytes };
}

const HEX_REFUSAL = 'not hex: an even number of 0-9, a-f';
const BASE64_REFUSAL = 'not base64: padded, with + and /';
const BASE64URL_REFUSAL = 'not base64url: unpadded, with - and _';
const HEX = /^(?:[0-9a-f]{2})*$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function binaryOf(bytes: Uint8Array): string {
  let binary = '';
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return binary;
}

const bytesOfBinary = (binary: string): Uint8Array => Uint8Array.from(binary, (ch) => ch.charCodeAt(0));

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
/** Same bytes. It reads every byte whatever it finds (no early exit), so a hash or key id compared with it leaks no position. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export const utf8 = (text: string): Uint8Array => encoder.encode(text);
/** UTF-8 to text; refuses bytes that are not UTF-8. */
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);

export const { hexOf, hexToBytes, base64Of, base64ToBytes, base64urlOf, base64urlToBytes } = bytesCodecs((globalThis as { Buffer?: NodeBufferClass }).Buffer);

/** Each hex digit's value by its character code (0–9, a–f, A–F); -1 for any other below 128. */
const HEX_DIGITS = new Int8Array(128).fill(-1);
for (const [i, digit] of [...'0123456789abcdef'].entries()) {
  HEX_DIGITS[digit.charCodeAt(0)] = i;
  HEX_DIGITS[digit.toUpperCase().charCodeAt(0)] = i;
}

/**
 * Hex the store made (SQLite's `hex()`, upper case) as bytes. Not for a client's text: there is no
 * strictness check (`hexToBytes` has one), since the text is the database's own output. A table loop,
 * because workerd's native decoder is the slow one here: `Buffer.from(text, 'hex')` (and
 * `Uint8Array.fromHex`) took 2.2 ms for a 64-page read's envelopes, this loop 0.66 ms, in the same
 * workerd (issue 34) — the largest single cost of a page read's Worker CPU before.
 */
export function bytesOfStoredHex(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length >> 1);
  for (let i = 0, j = 0; i < bytes.length; i++, j += 2) bytes[i] = (HEX_DIGITS[text.charCodeAt(j)]! << 4) | HEX_DIGITS[text.charCodeAt(j + 1)]!;
  return bytes;
}

/**
 * `text` (Latin-1 only: every character below U+0100) as a string V8 stores one byte a character.
 * Why: a string that once held a wider character can stay two bytes a character after `replace`,
 * `slice` or concatenation took it out, and `JSON.stringify` meeting such a string switches its whole
 * output to two bytes a character (V8's `ChangeEncoding` copies everything written so far). D1's
 * client sends each batch as one `JSON.stringify` — a page write's is ~530 KB of envelopes — so one
 * such parameter doubles the text the batch becomes. `binaryOf` builds its string with
 * `String.fromCharCode` over codes below 256: one byte a character.
 */
export function oneByteString(text: string): string {
  const codes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`oneByteString: U+${code.toString(16).toUpperCase().padStart(4, '0')} at ${i} is beyond Latin-1`);
    codes[i] = code;
  }
  return binaryOf(codes);
}
