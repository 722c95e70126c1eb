/**
 * Recovery cost (issue 5): histories of N = 1,000, 10,000 and 100,000 actions
 * on one VM, each with the same attack footprint — 50 actions of a stolen
 * toolstack, placed 600 actions before the end, followed by legitimate
 * sessions of which some read what it wrote — then the time to plan and apply
 * an undo of the attacker, against the time to plan a full replay of the
 * history with the attacker revoked. Part of `npm run bench`; alone:
 * `npm run bench:recovery`.
 *
 * How the histories are made: 100,000 actions through HTTP would take a
 * quarter of an hour here, so the Worker is stopped and each history is
 * written straight into its D1 file exactly as the sequencer writes it —
 * every record a real signed JWS, the Merkle nodes, the checkpoint, the
 * content versions and heads, and the information-flow index — and the
 * Worker started again. Only the envelopes are short placeholders (with the
 * digests of those placeholders): planning and applying never read an
 * envelope. Everything measured then goes through the API.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { signCheckpoint } from '../src/audit/format/checkpoint';
import { appendLeaf, frontierRoot, leafHash, type Frontier } from '../src/audit/format/merkle';
import { signRecord, type AuditRecord, type Region } from '../src/audit/format/record';
import { auditSigningKey } from '../src/audit/signing/signing-key';
import { api, DIR, mintTokens, newPrincipal, publicOf, startWorker, type Principal } from './workers';

export const HISTORY_SIZES = [1_000, 10_000, 100_000];
const ATTACK_ACTIONS = 50;
/** The attack starts this many actions before the end of every history. */
const ATTACK_FROM_END = 600;
/** Pages the history touches (the first 16 MiB of a 128 MiB VM). */
const PAGES = 4096;
const SESSION_LENGTH = 20;
const ROUNDS = 3;

interface Scene {
  tenant: string;
  owner: Principal;
  vm: string;
  legit: string[];
  attacker: string;
  size: number;
  attackStart?: string;
}

/** A deterministic generator, so every run benchmarks the same histories. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function d1File(state: string): string {
  const dir = join(state, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  const file = readdirSync(dir).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  if (!file) throw new Error(`no D1 database under ${dir}`);
  return join(dir, file);
}

/** Appends `scene.size` actions to the tenant's log and contents, as the sequencer would have. */
async function writeHistory(db: DatabaseSync, scene: Scene, auditKey: JWK, seed: number): Promise<void> {
  const key = await auditSigningKey(JSON.stringify(auditKey));
  const log = `tenants/${scene.tenant}`;
  const head = db.prepare('SELECT size, frontier FROM audit_logs WHERE log = ?').get(log) as { size: number; frontier: string };
  let frontier: Frontier = { size: head.size, hashes: (JSON.parse(head.frontier) as string[]).map((h) => new Uint8Array(Buffer.from(h, 'hex'))) };
  const rand = random(seed);
  const latest = new Map<number, number>();
  const insertRecord = db.prepare('INSERT INTO audit_records (log, idx, jws, time, action, actor_id, outcome, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insertNode = db.prepare('INSERT INTO audit_nodes (log, level, idx, hash) VALUES (?, ?, ?, ?)');
  const insertVersion = db.prepare('INSERT INTO content_versions (space, resource_id, idx, version, tenant_id, digest, envelope) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const upsertHead = db.prepare('INSERT INTO content_heads (space, resource_id, idx, version) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET version = excluded.version');
  const insertFlow = db.prepare(
    'INSERT INTO content_flows (log, audit_index, kind, space, resource_id, idx, version, copy_of, jti, session, actor_type, actor_id, time) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)',
  );
  const attackAt = scene.size - ATTACK_FROM_END;
  const startTime = Date.now() - scene.size - 60_000;
  db.exec('BEGIN');
  let attacks = 0;
  // Actions are drawn in order (versions depend on it), signed a chunk at a time in parallel.
  const pending: { record: AuditRecord; session: string; regions: Region[] }[] = [];
  const flush = async () => {
    const signed = await Promise.all(pending.map(({ record }) => signRecord(record, key)));
    for (const [i, { record, session, regions }] of pending.entries()) {
      const { jws, payload } = signed[i]!;
      const step = appendLeaf(frontier, leafHash(payload));
      frontier = step.frontier;
      insertRecord.run(log, record.index, jws, record.time, record.action, record.actor.id, 'allowed', session);
      for (const n of step.completed) insertNode.run(log, n.level, n.index, hex(n.hash));
      for (const r of regions) insertFlow.run(log, record.index, r.access, 'memory', scene.vm, r.index, r.version, record.actor.jti, session, 'toolstack', record.actor.id, record.time);
    }
    pending.length = 0;
  };
  for (let i = 0; i < scene.size; i++) {
    const index = head.size + i;
    const time = new Date(startTime + i).toISOString();
    const attack = i >= attackAt && attacks < ATTACK_ACTIONS && (i - attackAt) % 2 === 0;
    if (attack && attacks === 0) scene.attackStart = time;
    if (attack) attacks++;
    const actor = attack ? scene.attacker : scene.legit[Math.floor(i / SESSION_LENGTH) % scene.legit.length]!;
    const session = attack ? `attack-${Math.floor(attacks / 10)}` : `${scene.tenant}-s${Math.floor(i / SESSION_LENGTH)}`;
    const write = rand() < 0.6;
    const first = Math.floor(rand() * PAGES);
    const count = write ? 1 + Math.floor(rand() * 4) : 1 + Math.floor(rand() * 8);
    const regions: Region[] = [];
    for (let page = first; page < Math.min(PAGES, first + count); page++) {
      if (write) {
        const version = (latest.get(page) ?? 0) + 1;
        latest.set(page, version);
        const envelope = `placeholder:${page}:${version}`;
        const digest = `sha256:${createHash('sha256').update(envelope).digest('hex')}`;
        insertVersion.run('memory', scene.vm, page, version, scene.tenant, digest, envelope);
        upsertHead.run('memory', scene.vm, page, version);
        regions.push({ space: 'memory', resource: scene.vm, index: page, version, digest, access: 'write' });
      } else if (latest.has(page)) {
        const version = latest.get(page)!;
        regions.push({ space: 'memory', resource: scene.vm, index: page, version, digest: `sha256:${createHash('sha256').update(`placeholder:${page}:${version}`).digest('hex')}`, access: 'read' });
      }
    }
    const path = `/v1/tenants/${scene.tenant}/vms/${scene.vm}/memory/pages`;
    const record: AuditRecord = {
      v: 1, log, index, time, requestId: `req_history_${index}`,
      actor: { type: 'toolstack', id: actor, kid: 'history', jti: crypto.randomUUID(), sid: session, ip: null },
      action: write ? 'vm.memory.write' : 'vm.memory.read', target: { type: 'vm', id: scene.vm }, outcome: 'allowed', reason: null,
      request: { method: write ? 'PUT' : 'GET', path }, ...(write ? {} : { status: 200 }), regions,
    };
    pending.push({ record, session, regions });
    if (pending.length === 512) await flush();
  }
  await flush();
  const root = frontierRoot(frontier);
  db.prepare('UPDATE audit_logs SET size = ?, root = ?, frontier = ?, checkpoint = ?, updated_at = ? WHERE log = ?').run(
    frontier.size, hex(root), JSON.stringify(frontier.hashes.map(hex)), await signCheckpoint(log, frontier.size, root, key), new Date().toISOString(), log,
  );
  db.exec('COMMIT');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Timing {
  size: number;
  undoMs: number;
  replayMs: number;
  tainted: number;
  changes: number;
  disclosures: number;
  outcomeChanges: number;
  conflicts: number;
}

async function measure(url: string, scene: Scene): Promise<Timing> {
  const tokens = await mintTokens(scene.owner, 4 * ROUNDS + 10);
  const plans = `/v1/tenants/${scene.tenant}/recovery/plans`;
  const undo: number[] = [];
  const replay: number[] = [];
  let undoPlan: any;
  let replayPlan: any;
  // Warm-up, untimed: the first requests after a start compile code and fill caches.
  await api(url, tokens, 'POST', plans, { mode: 'undo', seeds: { actors: [scene.attacker] } });
  for (let round = 0; round < ROUNDS; round++) {
    let start = performance.now();
    undoPlan = await api(url, tokens, 'POST', plans, { mode: 'undo', seeds: { actors: [scene.attacker] } });
    await api(url, tokens, 'POST', `${plans}/${undoPlan.id}:apply`);
    undo.push(performance.now() - start);
    await api(url, tokens, 'POST', `${plans}/${undoPlan.id}:revert`); // back to the attacked state for the next round
    start = performance.now();
    replayPlan = await api(url, tokens, 'POST', plans, { mode: 'replay', patch: { revoke: [{ principal: scene.attacker, from: scene.attackStart }] } });
    replay.push(performance.now() - start);
  }
  return {
    size: scene.size,
    undoMs: median(undo),
    replayMs: median(replay),
    tainted: undoPlan.taintedActions.length,
    changes: undoPlan.changes.length,
    disclosures: undoPlan.disclosures.length,
    outcomeChanges: replayPlan.taintedActions.length,
    conflicts: replayPlan.conflicts.length,
  };
}

export async function recoveryReport(port = 8795): Promise<string[]> {
  const name = 'recovery';
  const admin = await newPrincipal('adm_bootstrap');
  const auditKey = (await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).privateKey)) as JWK;
  const vars = { BOOTSTRAP_ADMIN_JWK: JSON.stringify({ keys: [publicOf(admin.jwk)] }), AUDIT_SIGNING_JWK: JSON.stringify(auditKey) };
  let worker = await startWorker(name, port, vars);
  const scenes: Scene[] = [];
  try {
    const setup = await mintTokens(admin, 100);
    await api(worker.url, setup, 'POST', '/v1/admin/hosts', { name: 'recovery-host', vcpus: 64, memoryMiB: 1024 * 1024, diskGiB: 1000 });
    for (const size of HISTORY_SIZES) {
      const owner = await newPrincipal('pending');
      const tenant = await api(worker.url, setup, 'POST', '/v1/admin/tenants', { name: `history-${size}`, ownerKey: publicOf(owner.jwk), quota: { vcpus: 64, memoryMiB: 1024 * 1024, diskGiB: 1000 } });
      const vm = await api(worker.url, setup, 'POST', `/v1/admin/tenants/${tenant.id}/vms`, { name: 'guest', vcpus: 1, memoryMiB: 128 });
      const ownerP = { ...owner, id: tenant.id as string };
      const toolstack = async (n: string) => {
        const p = await newPrincipal('pending');
        return (await api(worker.url, await mintTokens(ownerP, 1), 'POST', `/v1/tenants/${tenant.id}/toolstacks`, { name: n, publicKey: publicOf(p.jwk), scopes: ['memory:read', 'memory:write'] })).id as string;
      };
      scenes.push({ tenant: tenant.id, owner: ownerP, vm: vm.id, legit: [await toolstack('ops-a'), await toolstack('ops-b'), await toolstack('ops-c')], attacker: await toolstack('stolen'), size });
    }
  } finally {
    await stopWorker(worker.child);
  }
  const started = performance.now();
  const db = new DatabaseSync(d1File(resolve(DIR, name)));
  for (const [i, scene] of scenes.entries()) await writeHistory(db, scene, auditKey, 1000 + i);
  db.close();
  const seeded = (performance.now() - started) / 1000;
  worker = await startWorker(name, port, vars);
  const timings: Timing[] = [];
  try {
    for (const scene of scenes) timings.push(await measure(worker.url, scene));
  } finally {
    await stopWorker(worker.child);
  }
  const [small, , large] = timings as [Timing, Timing, Timing];
  return [
    '## Intrusion recovery: undo versus full replay',
    '',
    `Histories of N actions on the first 16 MiB of one VM (60% writes of 1–4 pages, 40% reads of 1–8 pages, legitimate sessions of ${SESSION_LENGTH} actions over three toolstacks), each with the same attack: ${ATTACK_ACTIONS} actions of a stolen toolstack starting ${ATTACK_FROM_END} actions before the end. The histories were written into D1 as the sequencer writes them (signed records, Merkle nodes, versions, heads, flow index; placeholder envelopes) in ${seeded.toFixed(1)} s, then measured through the API: undo = POST a plan seeded with the attacker + POST :apply (then :revert, untimed); replay = POST a replay plan revoking the attacker from the attack's first action. Median of ${ROUNDS} rounds.`,
    '',
    '| N actions | undo plan + apply ms | tainted actions | pages rolled back | disclosures | full replay plan ms | actions denied by the patch | replay conflicts | replay ÷ undo |',
    '|---|---|---|---|---|---|---|---|---|',
    ...timings.map((t) => `| ${t.size.toLocaleString('en')} | ${t.undoMs.toFixed(0)} | ${t.tainted} | ${t.changes} | ${t.disclosures} | ${t.replayMs.toFixed(0)} | ${t.outcomeChanges} | ${t.conflicts} | ${(t.replayMs / t.undoMs).toFixed(1)} |`),
    '',
    `Targets: undo grows < 2× from N = 1,000 to 100,000 (${(large.undoMs / small.undoMs).toFixed(2)}×), and is ≥ 10× faster than full replay at N = 100,000 (${(large.replayMs / large.undoMs).toFixed(1)}×).`,
  ];
}

async function stopWorker(child: import('node:child_process').ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdirSync, rmSync } = await import('node:fs');
  rmSync(resolve(DIR, 'recovery'), { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  console.log((await recoveryReport()).join('\n'));
}
