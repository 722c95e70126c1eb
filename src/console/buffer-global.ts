/**
 * The `Buffer` global the shared modules use, for the browser bundle
 * (esbuild `inject`): a Uint8Array with Node's `from`/`toString` for the
 * encodings those modules name — utf8, latin1, hex, base64, base64url. (The
 * `buffer` package on npm knows no base64url.)
 */
type Encoding = 'utf8' | 'utf-8' | 'latin1' | 'binary' | 'ascii' | 'hex' | 'base64' | 'base64url';

const toBase64 = (bytes: Uint8Array): string => {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};
const fromBase64 = (text: string): Uint8Array => {
  const clean = text
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .replace(/[^A-Za-z0-9+/]/g, '');
  const binary = atob(clean + '='.repeat((4 - (clean.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
};

// @ts-expect-error Node's Buffer.from takes an encoding where Uint8Array.from takes a map function.
export class Buffer extends Uint8Array {
  static override from(value: string | ArrayLike<number> | ArrayBuffer | Uint8Array, encoding: Encoding = 'utf8'): Buffer {
    if (typeof value !== 'string') return Buffer.#of(value instanceof ArrayBuffer ? new Uint8Array(value) : Uint8Array.from(value as ArrayLike<number>));
    switch (encoding) {
      case 'hex':
        return Buffer.#of(Uint8Array.from(value.match(/.{1,2}/g) ?? [], (h) => parseInt(h, 16)));
      case 'base64':
      case 'base64url':
        return Buffer.#of(fromBase64(value));
      case 'latin1':
      case 'binary':
      case 'ascii':
        return Buffer.#of(Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff));
      default:
        return Buffer.#of(new TextEncoder().encode(value));
    }
  }

  static #of(bytes: Uint8Array): Buffer {
    return new Buffer(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length);
  }

  static concat(list: readonly Uint8Array[]): Buffer {
    const out = new Buffer(list.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of list) out.set(b, at), (at += b.length);
    return out;
  }

  static byteLength(text: string): number {
    return new TextEncoder().encode(text).length;
  }

  override toString(encoding: Encoding = 'utf8'): string {
    switch (encoding) {
      case 'hex':
        return Array.from(this, (b) => b.toString(16).padStart(2, '0')).join('');
      case 'base64':
        return toBase64(this);
      case 'base64url':
        return toBase64(this).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      case 'latin1':
      case 'binary':
      case 'ascii':
        return Array.from(this, (b) => String.fromCharCode(b)).join('');
      default:
        return new TextDecoder().decode(this);
    }
  }

  equals(other: Uint8Array): boolean {
    return this.length === other.length && this.every((b, i) => b === other[i]);
  }
}
