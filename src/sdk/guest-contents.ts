/**
 * Arbitrary byte ranges of guest memory or a disk, over 4 KiB encrypted pages:
 * split into pages, read-modify-write the partial ones at either end, seal
 * each page client-side (envelope.ts) and send up to 64 per call; on read,
 * open each page and zero-fill the unwritten ones (docs/design.md §3). Data keys are
 * wrapped under the keystore's KEK and parked with the provider (keystore.ts).
 *
 * Nothing is decrypted before its bytes are checked against the signed log
 * (read-evidence.ts): each envelope's SHA-256 must be the digest that the
 * read's own record and the version's write record name, or the read fails
 * with `ProviderMisbehaviourError` and returns no plaintext.
 *
 * `verifyFresh` closes the gap left: a provider could serve an older,
 * authentic version of a page as the current one. With it, each page read is
 * checked against the newest write of that page in the tenant's own audit
 * log, which the caller has verified (audit-verify.ts).
 */
import { inParallel } from '../lib/parallel.ts';
import { tokenIdOf, type ApiClient } from './client.ts';
import { decryptPage, encryptPage, envelopeKeyId, keyIdHex, newDataKey, PAGE_BYTES, type DataKey, type PageAddress, type Space } from './envelope.ts';
import { unwrapDataKey, wrapDataKey, wrappedKeyName, type Keystore } from './keystore.ts';
import { keyMap } from './audit-verify.ts';
import { checkReadEvidence, envelopeDigest, ProviderMisbehaviourError, recordVerifier, type ReadEvidence, type ServedPage } from './read-evidence.ts';
import { base64ToBytes, hexOf, hexToBytes } from '../lib/bytes.ts';
import { decodeReadFrame, encodeWriteFrame, PAGES_MEDIA_TYPE, type FramedWrite } from '../lib/page-frames.ts';
import { jwsPayload } from '../audit/format/jws.ts';

/** Pages per call: the API takes up to 256; 64 keeps a request near 350 KiB. */
export const BATCH_PAGES = 64;
/** Batches in flight by default: enough to overlap sealing, sending and the server's work. */
export const IN_FLIGHT = 4;

/**
 * Pages are ciphertext, which no compression shrinks: asking for them
 * uncompressed (RFC 9110 §12.5.3) spares the server's or the edge's CPU a
 * futile gzip of every answer, and this client a gunzip (gzip was ~47% of
 * workerd's CPU on 64-page reads locally: docs/decisions.md).
 */
const CIPHERTEXT = { 'Accept-Encoding': 'identity' };
/** Batches as bytes (lib/page-frames.ts): no base64 or JSON around 64 envelopes each way. */
const FRAMES = { ...CIPHERTEXT, Accept: PAGES_MEDIA_TYPE };
const FRAME_BODY = { ...CIPHERTEXT, 'Content-Type': PAGES_MEDIA_TYPE };
/** The frame as the request body, not JSON of it (the generated types know the body as JSON or a binary string). */
const asBytes = { bodySerializer: (frame: unknown) => frame as BodyInit };

export interface ContentTarget {
  tenant: string;
  space: Space;
  /** VM id (memory) or disk id. */
  resource: string;
}

/**
 * The current version of each page the log ever touched, as the verified
 * audit log tells it: its latest write, or a recovery's rollback (version 0 =
 * rolled back to unwritten); and `highestWritten`, the highest version the
 * log records a write of (a recovery's rollback lowers `version`, never that).
 */
export type LatestWrites = Map<number, { version: number; digest: string | null; highestWritten?: number }>;

export class StaleVersionError extends Error {
  constructor(
    readonly index: number,
    readonly served: number,
    readonly latest: number,
    /** What says `latest`: the verified audit log, or this keystore's own record of its writes. */
    readonly source: 'log' | 'keystore' = 'log',
  ) {
    const show = (v: number) => (v === 0 ? 'no version (unwritten)' : `version ${v}`);
    super(
      source === 'log'
        ? `page ${index}: the provider served ${show(served)}, but the audit log's latest write is ${show(latest)}`
        : `page ${index}: the provider served ${show(served)}, but this keystore wrote ${show(latest)} (if a recovery rolled the page back, read with --verify-fresh: the verified log says so)`,
    );
    this.name = 'StaleVersionError';
  }
}

type StoredPage = ServedPage;

/** A data key whose wrapped copy the provider does not hold: retired by a rotation (crypto-shredded), or never parked by this keystore. */
export class DataKeyUnavailableError extends Error {
  constructor(readonly keyName: string) {
    super(
      `data key ${keyName} is not stored with the provider: a rotation retired it (the versions sealed with it can no longer be opened), or it was written with another keystore`,
    );
    this.name = 'DataKeyUnavailableError';
  }
}

/** The keystore's KEK cannot unwrap the data key: the pages were sealed with another keystore. */
export class KeystoreMismatchError extends Error {
  constructor(readonly keyName: string) {
    super(
      `this keystore cannot open data key ${keyName}: it was wrapped by another keystore's KEK. Read with the keystore that wrote these pages (--keystore FILE; \`custodes key init\` makes a new one, which opens only what it seals)`,
    );
    this.name = 'KeystoreMismatchError';
  }
}

/** Checks a record's signature against the audit keys the caller trusts. */
export type RecordVerifier = (jws: string) => boolean | Promise<boolean>;

/** The published record keys of the API `api` talks to (fetched once, and again for a key not seen yet). */
export const publishedRecordVerifier = (api: ApiClient): RecordVerifier => recordVerifier(async () => keyMap((await api.GET('/.well-known/jwks.json')).data!));

/**
 * The envelope of one exact version of a page (`GET …/{index}/versions/{version}`),
 * checked against the signed records served with it (read-evidence.ts).
 */
export async function pageVersionEnvelope(
  api: ApiClient,
  target: ContentTarget,
  index: number,
  version: number,
  verify: RecordVerifier = publishedRecordVerifier(api),
): Promise<Uint8Array> {
  const { tenant, resource } = target;
  const { data: answer, response } =
    target.space === 'memory'
      ? await api.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages/{index}/versions/{version}', {
          params: { path: { tenant, vm: resource, index, version } },
          headers: CIPHERTEXT,
        })
      : await api.GET('/v1/tenants/{tenant}/disks/{disk}/blocks/{index}/versions/{version}', {
          params: { path: { tenant, disk: resource, index, version } },
          headers: CIPHERTEXT,
        });
  const data = answer!;
  if (data.index !== index || data.version !== version)
    throw new ProviderMisbehaviourError(
      index,
      version,
      null,
      null,
      `asked for version ${version} of page ${index}, served version ${data.version} of page ${data.index}`,
    );
  const envelope = base64ToBytes(data.envelope);
  await checkReadEvidence([{ ...data, envelope }], data.evidence as ReadEvidence, {
    log: `tenants/${tenant}`,
    space: target.space,
    resource,
    verify,
    jti: tokenIdOf(response),
  });
  return envelope;
}

export class GuestContents {
  private readonly keys = new Map<string, DataKey>();
  /**
   * The newest write of each page of a target, from the tenant's verified log:
   * consulted when a page comes back older than this keystore's own newest
   * write of it, so that a recovery's rollback (in the log) is told from a
   * provider's (not in it). Without it, such a read is refused.
   */
  latestFromLog?: (target: ContentTarget) => Promise<{ latest: LatestWrites; size: number }>;

  constructor(
    private readonly api: ApiClient,
    private readonly keystore: Keystore,
    /** Called when a new data key becomes current, to persist the keystore. */
    private readonly onKeystoreChange?: (keystore: Keystore) => void,
    /** Batches in flight at once. */
    private readonly inFlight = IN_FLIGHT,
    /** How records' signatures are checked: default the API's published keys; pass a pinned key's verifier to trust no answer of the provider's. */
    private readonly verifyRecord: RecordVerifier = publishedRecordVerifier(api),
  ) {}

  async write(target: ContentTarget, offset: number, data: Uint8Array): Promise<{ pages: number; auditIndexes: number[] }> {
    if (data.length === 0) return { pages: 0, auditIndexes: [] };
    const first = Math.floor(offset / PAGE_BYTES);
    const last = Math.floor((offset + data.length - 1) / PAGE_BYTES);
    // Partial pages at either end keep the bytes around the range.
    const edges = new Map<number, Uint8Array>();
    for (const index of new Set([first, last])) {
      const partial = index === first ? offset % PAGE_BYTES !== 0 : (offset + data.length) % PAGE_BYTES !== 0;
      if (partial) edges.set(index, (await this.readPages(target, index, 1)).get(index) ?? new Uint8Array(PAGE_BYTES));
    }
    const dataKey = await this.currentDataKey(target.tenant);
    const batches: number[] = [];
    for (let batchStart = first; batchStart <= last; batchStart += BATCH_PAGES) batches.push(batchStart);
    // Batches are disjoint, so several may be in flight: sealing one overlaps sending another.
    const auditIndexes = await inParallel(batches, this.inFlight, async (batchStart) => {
      const indexes = Array.from({ length: Math.min(last, batchStart + BATCH_PAGES - 1) - batchStart + 1 }, (_, i) => batchStart + i);
      const pages = await Promise.all(
        indexes.map(async (index) => {
          const page = edges.get(index) ?? new Uint8Array(PAGE_BYTES);
          const pageStart = index * PAGE_BYTES;
          const from = Math.max(offset, pageStart);
          const to = Math.min(offset + data.length, pageStart + PAGE_BYTES);
          page.set(data.subarray(from - offset, to - offset), from - pageStart);
          return { index, envelope: await encryptPage(page, this.address(target, index), dataKey) };
        }),
      );
      return this.putPages(target, pages);
    });
    this.onKeystoreChange?.(this.keystore); // the versions written, now tenant-held evidence
    return { pages: last - first + 1, auditIndexes };
  }

  /**
   * `latest`: the newest write of each page from the tenant's verified log
   * (`latestWritesFromLog`), and `logSize`, that log's size: a log that ends
   * before this keystore's own last write cannot vouch for anything.
   */
  async read(target: ContentTarget, offset: number, length: number, options: { latest?: LatestWrites; logSize?: number } = {}): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    if (options.logSize !== undefined) this.checkLogNotBehind(target, options.logSize);
    const first = Math.floor(offset / PAGE_BYTES);
    const last = Math.floor((offset + length - 1) / PAGE_BYTES);
    const batches: number[] = [];
    for (let batchStart = first; batchStart <= last; batchStart += BATCH_PAGES) batches.push(batchStart);
    await inParallel(batches, this.inFlight, async (batchStart) => {
      const pages = await this.readPages(target, batchStart, Math.min(BATCH_PAGES, last - batchStart + 1), options.latest);
      for (const [index, page] of pages) {
        const pageStart = index * PAGE_BYTES;
        const from = Math.max(offset, pageStart);
        const to = Math.min(offset + length, pageStart + PAGE_BYTES);
        out.set(page.subarray(from - pageStart, to - pageStart), from - offset);
      }
    });
    return out; // unwritten pages stay zero
  }

  /**
   * One exact past version of a page, decrypted here: what a reader of that
   * version saw (the exposure report names the versions). Throws
   * `DataKeyUnavailableError` once a rotation has retired its key.
   */
  async readVersion(target: ContentTarget, index: number, version: number): Promise<Uint8Array> {
    const envelope = await pageVersionEnvelope(this.api, target, index, version, this.verifyRecord);
    return decryptPage(envelope, this.address(target, index), await this.dataKey(target.tenant, envelopeKeyId(envelope)));
  }

  private address = (target: ContentTarget, index: number): PageAddress => ({ tenant: target.tenant, resource: target.resource, space: target.space, index });

  /** Decrypted written pages of [start, start+count), by index. */
  private async readPages(target: ContentTarget, start: number, count: number, latest?: LatestWrites): Promise<Map<number, Uint8Array>> {
    const { pages: stored, evidence, jti } = await this.getPages(target, start, count);
    // Every byte against the signed records before anything is decrypted (read-evidence.ts).
    if (stored.some((p) => p.index < start || p.index >= start + count))
      throw new ProviderMisbehaviourError(null, null, null, null, `served pages outside ${start}+${count}`);
    await checkReadEvidence(stored, evidence, {
      log: `tenants/${target.tenant}`,
      space: target.space,
      resource: target.resource,
      verify: this.verifyRecord,
      jti,
    });
    const pages = new Map<number, Uint8Array>();
    // The verified log, when given, is the authority (it knows of recoveries); else this keystore's own writes.
    if (latest) checkFresh(stored, start, count, latest);
    else await this.checkWrittenHere(target, stored, start, count);
    await Promise.all(
      stored.map(async (page) => {
        const { envelope } = page;
        pages.set(page.index, await decryptPage(envelope, this.address(target, page.index), await this.dataKey(target.tenant, envelopeKeyId(envelope))));
      }),
    );
    if (latest) {
      // A page the log says was written must not come back as absent.
      for (let index = start; index < start + count; index++) {
        if (latest.has(index) && !pages.has(index)) throw new StaleVersionError(index, 0, latest.get(index)!.version);
      }
    }
    return pages;
  }

  /**
   * No page of [start, start+count) is older than this keystore's own newest
   * write of it, nor withheld (tenant-held evidence: it needs no log). Where
   * one is, the verified log decides (`latestFromLog`): a recovery's rollback
   * is in it, and this keystore then remembers the log's version.
   */
  private async checkWrittenHere(target: ContentTarget, stored: readonly StoredPage[], start: number, count: number): Promise<void> {
    const written = this.keystore.written?.[`${target.space}:${target.resource}`];
    if (!written) return;
    const served = new Map(stored.map((page) => [page.index, page.version]));
    for (let index = start; index < start + count; index++) {
      const mine = written[index];
      if (mine === undefined || (served.get(index) ?? 0) >= mine) continue;
      if (!this.latestFromLog) throw new StaleVersionError(index, served.get(index) ?? 0, mine, 'keystore');
      const { latest, size } = await this.latestFromLog(target);
      // A log that ends before this keystore's own last write was rolled back: it cannot vouch for the older page.
      this.checkLogNotBehind(target, size);
      // A log that never recorded this keystore's own write lost it: a recovery would have undone it on the record.
      for (const [page, version] of Object.entries(written)) {
        const logged = latest.get(Number(page));
        if (Number(page) >= start && Number(page) < start + count && (logged?.highestWritten ?? logged?.version ?? 0) < version) {
          throw new ProviderMisbehaviourError(
            Number(page),
            version,
            null,
            null,
            `this keystore wrote version ${version}, but the verified log has no record of that write: the log was rolled back`,
          );
        }
      }
      checkFresh(stored, start, count, latest);
      for (const [page, { version }] of latest) if (written[page] !== undefined) written[page] = version;
      this.onKeystoreChange?.(this.keystore);
      return;
    }
  }

  /** A verified log of `size` records that ends before this keystore's own last write to it was rolled back. */
  private checkLogNotBehind(target: ContentTarget, size: number): void {
    const own = this.keystore.writtenAt?.[`tenants/${target.tenant}`];
    if (own !== undefined && size <= own) {
      throw new ProviderMisbehaviourError(
        null,
        null,
        null,
        null,
        `the verified log ends at record ${size}, before this keystore's own write (record ${own}): the log was rolled back`,
      );
    }
  }

  /** The pages served, their evidence, and the jti of the token the request carried (its record must name it). */
  private async getPages(target: ContentTarget, start: number, count: number): Promise<{ pages: StoredPage[]; evidence: ReadEvidence; jti: string | null }> {
    const query = { start, count };
    const { data, response } =
      target.space === 'memory'
        ? await this.api.GET('/v1/tenants/{tenant}/vms/{vm}/memory/pages', {
            params: { path: { tenant: target.tenant, vm: target.resource }, query },
            headers: FRAMES,
            parseAs: 'arrayBuffer',
          })
        : await this.api.GET('/v1/tenants/{tenant}/disks/{disk}/blocks', {
            params: { path: { tenant: target.tenant, disk: target.resource }, query },
            headers: FRAMES,
            parseAs: 'arrayBuffer',
          });
    if (!response.headers.get('Content-Type')?.startsWith(PAGES_MEDIA_TYPE))
      throw new ProviderMisbehaviourError(null, null, null, null, `asked for a page frame, answered ${response.headers.get('Content-Type') ?? 'no type'}`);
    const frame = decodeReadFrame<ReadEvidence>(new Uint8Array(data!));
    if (!frame.ok) throw new ProviderMisbehaviourError(null, null, null, null, `the answer is not a page frame: ${frame.reason}`);
    const pages = frame.value.pages.map(({ index, version, digest, envelope }) => ({ index, version, digest: `sha256:${hexOf(digest)}`, envelope }));
    return { pages, evidence: frame.value.evidence, jti: tokenIdOf(response) };
  }

  private async putPages(target: ContentTarget, pages: FramedWrite[]): Promise<number> {
    const body = encodeWriteFrame(pages) as never;
    const { data } =
      target.space === 'memory'
        ? await this.api.PUT('/v1/tenants/{tenant}/vms/{vm}/memory/pages', {
            params: { path: { tenant: target.tenant, vm: target.resource } },
            body,
            headers: FRAME_BODY,
            ...asBytes,
          })
        : await this.api.PUT('/v1/tenants/{tenant}/disks/{disk}/blocks', {
            params: { path: { tenant: target.tenant, disk: target.resource } },
            body,
            headers: FRAME_BODY,
            ...asBytes,
          });
    this.keystore.written ??= {};
    const key = `${target.space}:${target.resource}`;
    this.keystore.written[key] ??= {};
    const written = this.keystore.written[key];
    for (const { index, version } of data!.pages) written[index] = Math.max(written[index] ?? 0, version);
    const log = `tenants/${target.tenant}`;
    this.keystore.writtenAt ??= {};
    this.keystore.writtenAt[log] = Math.max(this.keystore.writtenAt[log] ?? -1, data!.auditIndex);
    return data!.auditIndex;
  }

  /** The data key new pages are sealed with: the keystore's current one, or a new one wrapped and parked with the provider. */
  private async currentDataKey(tenant: string): Promise<DataKey> {
    if (this.keystore.currentDataKey) return this.dataKey(tenant, hexToBytes(this.keystore.currentDataKey));
    const fresh = await newDataKey();
    const wrapped = await wrapDataKey(this.keystore, fresh.id, fresh.raw);
    await this.api.POST('/v1/tenants/{tenant}/keys', { params: { path: { tenant } }, body: { name: wrappedKeyName(fresh.id), wrapped } });
    this.keystore.currentDataKey = keyIdHex(fresh.id);
    this.onKeystoreChange?.(this.keystore);
    const key = { id: fresh.id, key: fresh.key };
    this.keys.set(keyIdHex(fresh.id), key);
    return key;
  }

  /** Fetches and unwraps a data key by id (once per process). */
  private async dataKey(tenant: string, id: Uint8Array): Promise<DataKey> {
    const cached = this.keys.get(keyIdHex(id));
    if (cached) return cached;
    const name = wrappedKeyName(id);
    const { data } = await this.api.GET('/v1/tenants/{tenant}/keys', { params: { path: { tenant }, query: { name } } });
    const found = data!.keys[0];
    if (found) {
      const key = await unwrapDataKey(this.keystore, id, found.wrapped).catch((error: unknown) => {
        // A KEK that cannot open the wrapping: this keystore is not the one that sealed these pages.
        throw (error as { code?: string }).code === 'ERR_JWE_DECRYPTION_FAILED' ? new KeystoreMismatchError(name) : error;
      });
      this.keys.set(keyIdHex(id), key);
      return key;
    }
    throw new DataKeyUnavailableError(name);
  }
}

/**
 * Every page of [start, start+count) is as the log says: a served page is the
 * log's latest version, and the hash of the bytes served is that write's
 * digest (never the digest field the provider sends); a page the log says is
 * written was not withheld (served as unwritten).
 */
function checkFresh(stored: readonly StoredPage[], start: number, count: number, latest: LatestWrites): void {
  const [first] = freshnessFindings(stored, start, count, latest);
  if (first) throw first;
}

/**
 * Every page of [start, start+count) served other than as the newest write
 * in the verified log says: another version (`StaleVersionError`), or other
 * bytes under the right version (`ProviderMisbehaviourError`).
 */
export function freshnessFindings(
  stored: readonly StoredPage[],
  start: number,
  count: number,
  latest: LatestWrites,
): (StaleVersionError | ProviderMisbehaviourError)[] {
  const served = new Map(stored.map((page) => [page.index, page]));
  const findings: (StaleVersionError | ProviderMisbehaviourError)[] = [];
  for (let index = start; index < start + count; index++) {
    const page = served.get(index);
    const newest = latest.get(index) ?? { version: 0, digest: null };
    if ((page?.version ?? 0) !== newest.version) findings.push(new StaleVersionError(index, page?.version ?? 0, newest.version));
    else if (page && envelopeDigest(page.envelope) !== newest.digest)
      findings.push(
        new ProviderMisbehaviourError(
          index,
          page.version,
          newest.digest,
          envelopeDigest(page.envelope),
          'the bytes served are not the newest write in the verified log',
        ),
      );
  }
  return findings;
}

/**
 * The newest write of each page of `target`, from the records of the tenant's
 * log — which the caller has verified first (verifyAuditLog), so the provider
 * cannot have left a write out.
 */
export function latestWritesFromLog(records: readonly { jws: string }[], target: ContentTarget): LatestWrites {
  const latest: LatestWrites = new Map();
  for (const { jws } of records) {
    const record = jwsPayload<{
      outcome: string;
      regions?: { space: string; resource: string; index: number; version: number; digest: string | null; access: string }[];
    }>(jws);
    if (record.outcome !== 'allowed') continue;
    // In log order, the last write or rollback of a page is its current version.
    for (const region of record.regions ?? []) {
      if (region.access === 'read' || region.space !== target.space || region.resource !== target.resource) continue;
      const highest = Math.max(latest.get(region.index)?.highestWritten ?? 0, region.access === 'write' ? region.version : 0);
      latest.set(region.index, { version: region.version, digest: region.digest, highestWritten: highest });
    }
  }
  return latest;
}
