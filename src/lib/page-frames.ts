/**
 * Guest contents as bytes on the wire (issue 34): a batch of page envelopes
 * without base64 or JSON around each. JSON carried every 4141-byte envelope as
 * 5,524 characters that both sides encoded, parsed and decoded; here an
 * envelope is copied, not transformed. One module for the Worker and the SDK,
 * so both read and write the same frames; `application/octet-stream` on
 * `PUT …/pages|blocks` (request) and `GET …/pages|blocks` (`Accept`), JSON
 * still served to clients that ask for it.
 *
 * All integers big-endian; an envelope is exactly ENVELOPE_BYTES (the
 * envelope's own format byte says which layout it is, docs/design.md §4).
 *
 *     write request:  "CPW" 0x01 | count u32 | count × (index u64 | envelope)
 *     read answer:    "CPR" 0x01 | count u32 | count × (index u64 | version u32 | sha256 (32) | envelope)
 *                     | evidence length u32 | evidence (UTF-8 JSON, the JSON answer's `evidence`)
 *
 * Decoders never throw: a frame that is not exactly one of these is a
 * `{ ok: false, reason }` a server answers as 400 and a client as a provider
 * that misbehaves.
 */
import { ENVELOPE_BYTES } from './envelope-format';

export const PAGES_MEDIA_TYPE = 'application/octet-stream';

const WRITE_MAGIC = [0x43, 0x50, 0x57, 0x01] as const; // "CPW" 1
const READ_MAGIC = [0x43, 0x50, 0x52, 0x01] as const; // "CPR" 1
const WRITE_ENTRY = 8 + ENVELOPE_BYTES;
const READ_ENTRY = 8 + 4 + 32 + ENVELOPE_BYTES;

export interface FramedWrite {
  index: number;
  envelope: Uint8Array;
}

export interface FramedPage {
  index: number;
  version: number;
  /** SHA-256 of the envelope, as the server's records name it (`sha256:` + hex in JSON). */
  digest: Uint8Array;
  envelope: Uint8Array;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

function header(magic: readonly number[], count: number, bytes: number): { frame: Uint8Array<ArrayBuffer>; view: DataView } {
  const frame = new Uint8Array(bytes);
  frame.set(magic, 0);
  const view = new DataView(frame.buffer);
  view.setUint32(4, count);
  return { frame, view };
}

function setIndex(view: DataView, at: number, index: number): void {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`page index ${index} is not a whole number`);
  view.setBigUint64(at, BigInt(index));
}

/** The index at `at`, or null beyond Number.MAX_SAFE_INTEGER (no page has one). */
function indexAt(view: DataView, at: number): number | null {
  const index = view.getBigUint64(at);
  return index <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(index) : null;
}

function checkHeader(frame: Uint8Array, magic: readonly number[], what: string): Decoded<number> {
  if (frame.length < 8 || magic.some((byte, i) => frame[i] !== byte)) {
    return {
      ok: false,
      reason: `${what} frame starts with "${String.fromCharCode(...magic.slice(0, 3))}" 0x01 and a count (openapi.yaml: WritePagesFrame, PagesFrame)`,
    };
  }
  return { ok: true, value: new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4) };
}

export function encodeWriteFrame(pages: readonly FramedWrite[]): Uint8Array<ArrayBuffer> {
  const { frame, view } = header(WRITE_MAGIC, pages.length, 8 + pages.length * WRITE_ENTRY);
  pages.forEach(({ index, envelope }, i) => {
    if (envelope.length !== ENVELOPE_BYTES) throw new RangeError(`an envelope is ${ENVELOPE_BYTES} bytes, not ${envelope.length}`);
    const at = 8 + i * WRITE_ENTRY;
    setIndex(view, at, index);
    frame.set(envelope, at + 8);
  });
  return frame;
}

/** The pages of a write frame; each envelope a view into `frame` (no copy). */
export function decodeWriteFrame(frame: Uint8Array): Decoded<FramedWrite[]> {
  const count = checkHeader(frame, WRITE_MAGIC, 'A write');
  if (!count.ok) return count;
  const expected = 8 + count.value * WRITE_ENTRY;
  if (frame.length !== expected) {
    return { ok: false, reason: `a frame of ${count.value} pages is ${expected} bytes (8 + ${WRITE_ENTRY} a page), not ${frame.length}` };
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const pages: FramedWrite[] = [];
  for (let i = 0, at = 8; i < count.value; i++, at += WRITE_ENTRY) {
    const index = indexAt(view, at);
    if (index === null) return { ok: false, reason: `page ${i}'s index is beyond ${Number.MAX_SAFE_INTEGER}` };
    pages.push({ index, envelope: frame.subarray(at + 8, at + WRITE_ENTRY) });
  }
  return { ok: true, value: pages };
}

export function encodeReadFrame(pages: readonly FramedPage[], evidence: unknown): Uint8Array<ArrayBuffer> {
  const json = new TextEncoder().encode(JSON.stringify(evidence));
  const end = 8 + pages.length * READ_ENTRY;
  const { frame, view } = header(READ_MAGIC, pages.length, end + 4 + json.length);
  pages.forEach(({ index, version, digest, envelope }, i) => {
    if (envelope.length !== ENVELOPE_BYTES || digest.length !== 32) throw new RangeError('an envelope is ENVELOPE_BYTES bytes and a digest 32');
    const at = 8 + i * READ_ENTRY;
    setIndex(view, at, index);
    view.setUint32(at + 8, version);
    frame.set(digest, at + 12);
    frame.set(envelope, at + 44);
  });
  view.setUint32(end, json.length);
  frame.set(json, end + 4);
  return frame;
}

/** The pages and evidence of a read frame; each envelope and digest a view into `frame`. */
export function decodeReadFrame<Evidence = unknown>(frame: Uint8Array): Decoded<{ pages: FramedPage[]; evidence: Evidence }> {
  const count = checkHeader(frame, READ_MAGIC, 'A read');
  if (!count.ok) return count;
  const end = 8 + count.value * READ_ENTRY;
  if (frame.length < end + 4) return { ok: false, reason: `a frame of ${count.value} pages is at least ${end + 4} bytes, not ${frame.length}` };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const pages: FramedPage[] = [];
  for (let i = 0, at = 8; i < count.value; i++, at += READ_ENTRY) {
    const index = indexAt(view, at);
    if (index === null) return { ok: false, reason: `page ${i}'s index is beyond ${Number.MAX_SAFE_INTEGER}` };
    pages.push({ index, version: view.getUint32(at + 8), digest: frame.subarray(at + 12, at + 44), envelope: frame.subarray(at + 44, at + READ_ENTRY) });
  }
  const length = view.getUint32(end);
  if (frame.length !== end + 4 + length) return { ok: false, reason: `the evidence is ${length} bytes, but ${frame.length - end - 4} follow the pages` };
  try {
    return { ok: true, value: { pages, evidence: JSON.parse(new TextDecoder().decode(frame.subarray(end + 4))) as Evidence } };
  } catch {
    return { ok: false, reason: 'the evidence is not JSON' };
  }
}

/**
 * Whether `accept` (an Accept header, RFC 9110 §12.5.1) prefers the frame to
 * JSON: a higher q for application/octet-stream than for application/json
 * (either one's q from its own entry, else from `application/*` or `*\/*`), or
 * the same q and listed first. Without a header: JSON, as before.
 */
export function prefersFrames(accept: string | null | undefined): boolean {
  if (!accept) return false;
  const entries = accept.split(',').map((part, order) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { type, q: q ? Number(q.slice(2)) : 1, order };
  });
  const weigh = (type: string) => {
    const exact = entries.find((e) => e.type === type) ?? entries.find((e) => e.type === 'application/*') ?? entries.find((e) => e.type === '*/*');
    return exact && Number.isFinite(exact.q) ? { q: exact.q, order: exact.order } : { q: 0, order: Number.POSITIVE_INFINITY };
  };
  const frames = weigh(PAGES_MEDIA_TYPE);
  const json = weigh('application/json');
  return frames.q > 0 && (frames.q > json.q || (frames.q === json.q && frames.order < json.order));
}
