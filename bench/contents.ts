/**
 * Encrypted, audited memory throughput (issue 4): MiB/s of writing and then
 * reading a range of guest memory through the SDK — client-side AES-256-GCM,
 * a fresh token per request, 64-page batches, every batch an audit record —
 * against the bench-only baseline Worker storing the same plaintext bytes in
 * D1 in the same 64-page batches, with no auth, audit or encryption.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { findD1 } from '../test/node/support/store';
import type { JWK } from 'jose';
import { createApiClient } from '../src/sdk/client';
import type { KeyObject } from 'node:crypto';
import type { AuditRecord } from '../src/audit/format/record';
import { jwsPayload } from '../src/audit/format/jws';
import { keyMap, verifyJws } from '../src/sdk/audit-verify';
import { decryptPage, encryptPage, ENVELOPE_BYTES, newDataKey, PAGE_BYTES, type DataKey } from '../src/sdk/envelope';
import { envelopeDigest } from '../src/sdk/read-evidence';
import { BATCH_PAGES, GuestContents, IN_FLIGHT } from '../src/sdk/guest-contents';
import { inParallel } from '../src/lib/parallel';
import { newKeystore } from '../src/sdk/keystore';
import { api, DIR, instanceSecrets, median, mintTokens, newPrincipal, publicOf, startWorker, unlimitedConfig, workerdCpuMs } from './workers';

export const CONTENT_MIB = 8;

/** The baseline's pages are random bytes, as incompressible as ciphertext: its client declines compression as the SDK does (src/sdk/guest-contents.ts). */
const INCOMPRESSIBLE = { 'Accept-Encoding': 'identity' };

interface Throughput {
  write: number;
  read: number;
  /** CPU ms per batch: this client's (encryption, tokens, HTTP) and workerd's (the Worker, its Durable Objects, D1's emulation). */
  cpu: { write: CpuPerBatch; read: CpuPerBatch };
}

interface CpuPerBatch {
  client: number;
  workerd: number;
}

const mibPerSecond = (bytes: number, ms: number) => bytes / 2 ** 20 / (ms / 1000);

/**
 * Runs one phase of `batches` batches; its MiB/s of `bytes`, and the CPU it cost a batch. On this 2-core machine a
 * path is bound by CPU, client and server together: the split says whose time a ratio loses (only one Worker is
 * busy at a time, so all workerd processes under this one count).
 */
async function phase(bytes: number, batches: number, run: () => Promise<unknown>): Promise<{ rate: number; cpu: CpuPerBatch }> {
  const client = process.cpuUsage();
  const workerd = workerdCpuMs();
  const start = performance.now();
  await run();
  const ms = performance.now() - start;
  const used = process.cpuUsage(client);
  return { rate: mibPerSecond(bytes, ms), cpu: { client: (used.user + used.system) / 1000 / batches, workerd: (workerdCpuMs() - workerd) / batches } };
}

export async function encryptedThroughput(url: string, owner: { id: string; jwk: JWK }, vm: string): Promise<Throughput> {
  const api = createApiClient({ baseUrl: url, key: owner.jwk, principal: owner.id });
  const contents = new GuestContents(api, await newKeystore());
  const target = { tenant: owner.id, space: 'memory' as const, resource: vm };
  const data = crypto.getRandomValues(new Uint8Array(2 ** 16)); // a 64 KiB pattern, repeated
  const bytes = new Uint8Array(CONTENT_MIB * 2 ** 20);
  for (let at = 0; at < bytes.length; at += data.length) bytes.set(data, at);
  await contents.write(target, 0, bytes.subarray(0, PAGE_BYTES)); // makes and parks the data key outside the timing
  const batches = bytes.length / PAGE_BYTES / BATCH_PAGES;
  const write = await phase(bytes.length, batches, () => contents.write(target, 0, bytes));
  let back: Uint8Array = new Uint8Array();
  const read = await phase(bytes.length, batches, async () => {
    back = await contents.read(target, 0, bytes.length);
  });
  if (Buffer.compare(Buffer.from(back), Buffer.from(bytes)) !== 0) throw new Error('encrypted read-back differs from what was written');
  return { write: write.rate, read: read.rate, cpu: { write: write.cpu, read: read.cpu } };
}

/**
 * The client's half of the design floor (docs/design.md §4): pages sealed with the SDK's own AES-256-GCM
 * before they are sent, and on read, every envelope's SHA-256 checked against the digest the read's own
 * signed record names (the signature verified once a batch) before it is opened. `keys`: the audit keys
 * the records verify under (the API's published ones; both Workers sign with one key).
 */
export interface SealingClient {
  tenant: string;
  dataKey: DataKey;
  keys: Map<string, KeyObject>;
}

/** The read's record after the pages of a design-floor answer; each envelope checked against it, then opened. */
async function openCheckedPages(frame: Uint8Array, entry: number, vm: string, { tenant, dataKey, keys }: SealingClient, expected: Uint8Array): Promise<void> {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint32(0);
  const end = 4 + count * entry;
  const jws = new TextDecoder().decode(frame.subarray(end + 4, end + 4 + view.getUint32(end)));
  if (!verifyJws(jws, keys)) throw new Error("design floor: the read's record does not verify");
  const named = new Map(jwsPayload<AuditRecord>(jws).regions?.map((r) => [r.index, r.digest]) ?? []);
  for (let i = 0, at = 4; i < count; i++, at += entry) {
    const index = Number(view.getBigUint64(at));
    const envelope = frame.subarray(at + 8, at + entry);
    if (envelopeDigest(envelope) !== named.get(index)) throw new Error(`design floor: page ${index} is not the bytes its read's record names`);
    const page = await decryptPage(envelope, { tenant, resource: vm, space: 'memory', index }, dataKey);
    if (!Buffer.from(page).equals(expected)) throw new Error(`design floor: page ${index} came back different`);
  }
}

/**
 * The baseline Worker's pages at `route`: `/raw` (plaintext, nothing else),
 * `/floor` (the same, plus in the same batch what an audited batch must
 * commit; bench/baseline-worker.ts), with `query` (`flows=0`), or
 * `/design-floor` (with `tokens` to spend and `sealing`, the client's half).
 */
export async function baselineThroughput(
  url: string,
  route = '/raw',
  query = '',
  vm = 'vm_baseline',
  tokens: string[] = [],
  sealing?: SealingClient,
): Promise<Throughput> {
  // The design floor's requests each spend a token (minted before, outside the timing: a floor).
  const auth = (): Record<string, string> => (tokens.length > 0 ? { Authorization: `Bearer ${tokens.pop()}` } : {});
  const pages = (CONTENT_MIB * 2 ** 20) / PAGE_BYTES;
  const batches = Array.from({ length: pages / BATCH_PAGES }, (_, i) => i * BATCH_PAGES);
  const page = crypto.getRandomValues(new Uint8Array(PAGE_BYTES));
  const entry = 8 + (sealing ? ENVELOPE_BYTES : PAGE_BYTES);
  // The same batches as the SDK's, as bytes (bench/baseline-worker.ts: count, then index and page or envelope), as many in flight.
  const frameOf = async (first: number) => {
    const frame = new Uint8Array(4 + BATCH_PAGES * entry);
    const view = new DataView(frame.buffer);
    view.setUint32(0, BATCH_PAGES);
    for (let i = 0; i < BATCH_PAGES; i++) {
      view.setBigUint64(4 + i * entry, BigInt(first + i));
      const index = first + i;
      frame.set(sealing ? await encryptPage(page, { tenant: sealing.tenant, resource: vm, space: 'memory', index }, sealing.dataKey) : page, 4 + i * entry + 8);
    }
    return frame;
  };
  const write = await phase(pages * PAGE_BYTES, batches.length, () =>
    inParallel(batches, IN_FLIGHT, async (first) => {
      const res = await fetch(`${url}${route}/${vm}/pages${query ? `?${query}` : ''}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', ...INCOMPRESSIBLE, ...auth() },
        body: await frameOf(first),
      });
      if (!res.ok) throw new Error(`baseline write (${route}): ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }),
  );
  const read = await phase(pages * PAGE_BYTES, batches.length, () =>
    inParallel(batches, IN_FLIGHT, async (first) => {
      const res = await fetch(`${url}${route}/${vm}/pages?start=${first}&count=${BATCH_PAGES}${query ? `&${query}` : ''}`, {
        headers: { ...INCOMPRESSIBLE, ...auth() },
      });
      if (!res.ok) throw new Error(`baseline read (${route}): ${res.status} ${await res.text()}`);
      const frame = new Uint8Array(await res.arrayBuffer());
      if (new DataView(frame.buffer).getUint32(0) !== BATCH_PAGES || frame.length < 4 + BATCH_PAGES * entry) throw new Error('baseline read came back short');
      if (sealing) await openCheckedPages(frame, entry, vm, sealing, page);
      else if (frame.length !== 4 + BATCH_PAGES * entry) throw new Error('baseline read came back long');
    }),
  );
  return { write: write.rate, read: read.rate, cpu: { write: write.cpu, read: read.cpu } };
}

/** What a stored page version costs in a Worker's D1 file: its envelope, and the table and its key's index on disk (SQLite's dbstat) per version. */
export interface StoredBytes {
  versions: number;
  envelope: number;
  onDisk: number;
}

export function storedPageBytes(stateDir: string): StoredBytes {
  const db = new DatabaseSync(findD1(stateDir), { readOnly: true });
  try {
    const { versions, envelope } = db.prepare('SELECT count(*) AS versions, avg(length(envelope)) AS envelope FROM content_versions').get() as {
      versions: number;
      envelope: number;
    };
    const { bytes } = db.prepare("SELECT sum(pgsize) AS bytes FROM dbstat WHERE name IN ('content_versions', 'sqlite_autoindex_content_versions_1')").get() as {
      bytes: number;
    };
    return { versions, envelope, onDisk: bytes / Math.max(versions, 1) };
  } finally {
    db.close();
  }
}

export const storedReport = ({ versions, envelope, onDisk }: StoredBytes): string =>
  `Stored: ${versions} page versions in the API's D1 file, ${envelope.toFixed(0)} bytes of envelope each (a BLOB; 5,524 characters as base64 text before), ${onDisk.toFixed(0)} bytes a version on disk with its row and key index (SQLite dbstat).`;

/** Rounds of the five paths, alternating, so the machine's drift touches each alike; ratios are the median of the rounds' own. */
export const CONTENT_ROUNDS = Number(process.env.BENCH_CONTENT_ROUNDS ?? 5);

type ContentPath = 'encrypted' | 'plain' | 'floor' | 'floorNoFlows' | 'designFloor';
export interface ContentFigures {
  rounds: Record<ContentPath, Throughput>[];
}

/** Gives the tenant a VM and measures every path, round after round. */
export async function measureContents(mainUrl: string, baselineUrl: string, setup: string[], owner: { id: string; jwk: JWK }): Promise<ContentFigures> {
  const vm = await api(mainUrl, setup, 'POST', `/v1/admin/tenants/${owner.id}/vms`, {
    name: `bench-memory-${Date.now()}`,
    vcpus: 1,
    memoryMiB: Math.max(128, 4 * CONTENT_MIB),
  });
  // The design floor's tenant, in the baseline Worker's D1: its owner key signs the floor's tokens.
  const designOwner = await newPrincipal('ten_design');
  await fetch(`${baselineUrl}/seed`, {
    method: 'POST',
    body: JSON.stringify({ host: 'hst_design', tenant: designOwner.id, owner: { kid: designOwner.kid, jwk: publicOf(designOwner.jwk) } }),
  });
  const batchesEachWay = (CONTENT_MIB * 2 ** 20) / PAGE_BYTES / BATCH_PAGES;
  // The design floor's client seals and checks as the SDK does, against the audit key the API publishes (both Workers sign with it).
  const sealing: SealingClient = {
    tenant: designOwner.id,
    dataKey: await newDataKey(),
    keys: keyMap(await (await fetch(`${mainUrl}/.well-known/jwks.json`)).json()),
  };
  const rounds: ContentFigures['rounds'] = [];
  for (let i = 0; i < CONTENT_ROUNDS; i++) {
    const designTokens = await mintTokens(designOwner, 2 * batchesEachWay);
    rounds.push({
      designFloor: await baselineThroughput(baselineUrl, '/design-floor', '', `vm_design_${i}`, designTokens, sealing),
      encrypted: await encryptedThroughput(mainUrl, owner, vm.id),
      // Fresh rows every round, as the encrypted path's new versions are: an overwrite in place would flatter the baseline.
      plain: await baselineThroughput(baselineUrl, '/raw', '', `vm_plain_${i}`),
      floor: await baselineThroughput(baselineUrl, '/floor', '', `vm_floor_${i}`),
      floorNoFlows: await baselineThroughput(baselineUrl, '/floor', 'flows=0', `vm_floor_noflows_${i}`),
    });
  }
  return { rounds };
}

/** The median over the rounds of a path's MiB/s, and of its ratio to the baseline's in the same round. */
export function contentRatios({ rounds }: ContentFigures, path: ContentPath, op: 'write' | 'read'): { rate: number; ratio: number; each: number[] } {
  const each = rounds.map((r) => r[path][op] / r.plain[op]);
  return { rate: median(rounds.map((r) => r[path][op])), ratio: median(each), each };
}

/** The report section (also `npm run bench:contents`, which starts its own pair of Workers). */
export function contentsReport(figures: ContentFigures): string[] {
  const cell = (path: ContentPath, op: 'write' | 'read') => {
    const { ratio, each } = contentRatios(figures, path, op);
    return `${ratio.toFixed(2)} (${each.map((x) => x.toFixed(2)).join(', ')})`;
  };
  const row = (name: string, path: ContentPath) =>
    `| ${name} | ${contentRatios(figures, path, 'write').rate.toFixed(2)} | ${contentRatios(figures, path, 'read').rate.toFixed(2)} | ${cell(path, 'write')} | ${cell(path, 'read')} |`;
  return [
    '## Guest memory throughput (encrypted and audited, against the baseline storing plaintext)',
    '',
    `${CONTENT_MIB} MiB written then read back in ${BATCH_PAGES}-page batches by one client keeping ${IN_FLIGHT} batches in flight, on both paths; ${figures.rounds.length} rounds, the paths alternating within each. MiB/s are the rounds' medians; each ratio is the median of the rounds' own ratios (each round's in brackets). Encrypted: through the SDK (AES-256-GCM in the client, a fresh token per request, each batch an audit record naming every page's version and digest, committed in the same D1 batch that reads or writes the pages). Baseline: the bench-only Worker storing the same bytes in D1 in the same batches, with no auth, audit or encryption. Both carry the pages as binary frames and store them as BLOBs (issue 34), and both clients decline compression: the bytes are random, like ciphertext.`,
    '',
    '| path | write MiB/s | read MiB/s | write ÷ baseline | read ÷ baseline |',
    '|---|---|---|---|---|',
    `| baseline: plaintext pages in D1 | ${contentRatios(figures, 'plain', 'write').rate.toFixed(2)} | ${contentRatios(figures, 'plain', 'read').rate.toFixed(2)} | — | — |`,
    row('encrypted, audited (SDK)', 'encrypted'),
    row('floor: baseline + record, flow index, node and head in the same batch', 'floor'),
    row('floor without the flow index', 'floorNoFlows'),
    row(
      "design floor: the floor + a fresh token verified and spent, pages' SHA-256, record and checkpoint signed, appends through one Durable Object; pages sealed in the client, checked against the read's signed record and opened",
      'designFloor',
    ),
    '',
    "CPU a 64-page batch, ms (medians over the rounds): this client's, and workerd's — the Worker, its Durable Objects and D1's emulation. Client and server share this machine's two cores, so a path's MiB/s follows their sum.",
    '',
    '| path | write: client | write: workerd | read: client | read: workerd |',
    '|---|---|---|---|---|',
    ...(
      [
        ['baseline', 'plain'],
        ['encrypted, audited (SDK)', 'encrypted'],
        ['floor', 'floor'],
        ['design floor', 'designFloor'],
      ] as const
    ).map(([name, path]) => {
      const cpu = (op: keyof Throughput['cpu'], side: keyof CpuPerBatch) => median(figures.rounds.map((r) => r[path].cpu[op][side])).toFixed(1);
      return `| ${name} | ${cpu('write', 'client')} | ${cpu('write', 'workerd')} | ${cpu('read', 'client')} | ${cpu('read', 'workerd')} |`;
    }),
    '',
    "Target (issue 34): the encrypted, audited path at ≥ 0.7× the baseline's MiB/s for writes and for reads, on the same binary path, with the record committed before the answer. The floor rows (bench/baseline-worker.ts `/floor`) bound any implementation that commits the record before it answers (docs/design.md §5, §6): one round trip, no token, no signing, no encryption, no Durable Object hop — only the rows the record adds, in the data's own batch. The design floor (`/design-floor`) adds only what the design requires of every content request besides: a fresh signed token, verified and its `jti` spent in the batch (§3); each page's ciphertext SHA-256 named in the record, the record and a checkpoint signed before the answer, appends serialized through one Durable Object holding the Merkle frontier (§5) — with the API's own code for each; and in its client what §4 requires: every page sealed with AES-256-GCM before it is sent, and on read every envelope's SHA-256 checked against the digest the read's own signed record names (the record served with the answer, its signature verified) before it is opened — with the SDK's own code. Nothing else of the API: no page versions, heads, guards, extensions, middleware, or write records served with reads. (Before 2026-12-08 the design floor's client sent plaintext and checked nothing: the floor measured 0.66–0.77 that way.)",
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  rmSync(`${DIR}/contents-main`, { recursive: true, force: true });
  rmSync(`${DIR}/contents-baseline`, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const { admin, vars } = await instanceSecrets();
  const main = await startWorker('contents-main', 8797, vars, unlimitedConfig());
  const baseline = await startWorker('contents-baseline', 8796, vars, 'bench/wrangler.baseline.toml');
  try {
    const setup = await mintTokens(admin, 20);
    await api(main.url, setup, 'POST', '/v1/admin/hosts', { name: 'h', vcpus: 64, memoryMiB: 1024 * 1024, diskGiB: 1000 });
    const ownerKey = await newPrincipal('pending');
    const tenant = await api(main.url, setup, 'POST', '/v1/admin/tenants', {
      name: 't',
      ownerKey: publicOf(ownerKey.jwk),
      quota: { vcpus: 64, memoryMiB: 1024 * 1024, diskGiB: 1000 },
    });
    await fetch(`${baseline.url}/seed`, { method: 'POST', body: JSON.stringify({ host: 'hst_baseline', tenant: 'ten_baseline' }) });
    const figures = await measureContents(main.url, baseline.url, setup, { id: tenant.id, jwk: ownerKey.jwk });
    console.log([...contentsReport(figures), '', storedReport(storedPageBytes(resolve(DIR, 'contents-main')))].join('\n'));
  } finally {
    main.child.kill();
    baseline.child.kill();
  }
}
