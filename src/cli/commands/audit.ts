/**
 * `custodes audit verify` and `custodes audit tail`. Verification trusts only
 * the log key and the checkpoint saved by the previous run (the state file);
 * `--bundle DIR` verifies a downloaded copy with no network at all, and
 * `--save-bundle DIR` writes such a copy while verifying online.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyMap, verifyAuditLog, verifyJws, type AuditSource, type VerifierState } from '../../sdk/audit-verify';
import { deploymentChanges, type DeploymentStatement } from '../../audit/deployment/changes';
import { jwsPayload } from '../../audit/format/jws';
import type { Command } from 'commander';
import type { AuditRecord } from '../../audit/format/record';
import { auditSource, type AuditLogApi } from '../../sdk/audit-source';
import { verifiedAuditStream } from '../../sdk/audit-stream';
import { checkSeals, sealClock, SealWatcher } from '../../sdk/seals';
import { action, baseUrl, adminClient, choiceOption, numberOption, UsageError, type Emit, type GlobalOptions, type Output } from '../context';
import { parallelRecordChecker } from '../parallel-verify';
import { defaultStatePath, verifiedRecords } from '../verified-log';
import { checkLogContents, type NamedVersion } from '../../sdk/log-contents';
import { table, type Column } from '../table';
import { tenantClient, tenantOptions, type TenantOptions } from '../tenant-context';
import { hexOf } from '../../lib/bytes';

export interface AuditCommandContext {
  /** The log: `tenants/<id>` or `provider`. */
  log: string;
  api?: AuditLogApi;
  /** Where the last accepted checkpoint is kept; by default one file per log. */
  statePath?: string;
  bundle?: string;
  saveBundle?: string;
  checkSignatures: boolean;
  /** Witness cosigner vkeys, and how many of them must have cosigned. */
  witnesses?: string[];
  quorum?: number;
  /** The log key to pin (C2SP vkey), obtained out of band. */
  logKey?: string;
  /** With no saved state and no `logKey`: take the server's key this once. */
  trustOnFirstUse?: boolean;
  /** Refuse a log served by a deployment that declares another build. */
  expectBuild?: string;
}

/** What `audit verify` keeps between runs: the verifier's state, and the last deployment statement it saw. */
type SavedState = VerifierState & { deployment?: { index: number } };

/**
 * The deployments on record since the saved state (audit/deployment): each
 * statement's signature checked under the log's record keys, and what changed
 * put in words. Answers the lines to print, the newest statement, and an
 * error when a statement does not verify.
 */
async function deploymentReport(
  onRecord: Promise<[Awaited<ReturnType<AuditLogApi['deployments']>>, Awaited<ReturnType<AuditLogApi['jwks']>>]>,
  saved: SavedState | undefined,
) {
  const [served, jwks] = await onRecord;
  const keys = keyMap(jwks);
  const statements: { index: number; statement: DeploymentStatement }[] = [];
  for (const { index, jws } of served) {
    if (!verifyJws(jws, keys)) return { error: `deployment statement ${index} does not verify under the audit keys` };
    const record = jwsPayload<AuditRecord & { details: DeploymentStatement }>(jws);
    if (record.log !== 'provider' || record.index !== index || record.action !== 'deployment.statement')
      return { error: `record ${index} served as a deployment statement is ${record.action} of ${record.log}` };
    statements.push({ index, statement: record.details });
  }
  const since = saved?.deployment?.index ?? -1;
  const lines: string[] = [];
  statements.forEach(({ index, statement }, i) => {
    if (index <= since) return;
    const before = i > 0 ? statements[i - 1]!.statement : null;
    lines.push(
      `Deployment on record since your saved state (provider record ${index}, build ${statement.build ?? 'undeclared'}): ${deploymentChanges(before, statement).join('; ')}.`,
    );
  });
  return { lines, latest: statements.at(-1) ?? null };
}

const BUNDLE_FILES = {
  logKey: 'log-key.txt',
  jwks: 'jwks.json',
  checkpoint: 'checkpoint.txt',
  records: 'records.jsonl',
  meta: 'bundle.json',
  handovers: 'key-handovers.json',
};

function bundleSource(dir: string): AuditSource & { log: string } {
  const read = (name: string) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new Error(`the bundle lacks ${path}`);
    return readFileSync(path, 'utf8');
  };
  const records = read(BUNDLE_FILES.records)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { index: number; jws: string });
  return {
    log: (JSON.parse(read(BUNDLE_FILES.meta)) as { log: string }).log,
    logKey: async () => read(BUNDLE_FILES.logKey),
    jwks: async () => JSON.parse(read(BUNDLE_FILES.jwks)),
    checkpoint: async () => read(BUNDLE_FILES.checkpoint),
    // The bundle's checkpoint is the one verified when it was saved, cosignatures and all.
    cosignedCheckpoint: async () => read(BUNDLE_FILES.checkpoint),
    records: async (from, limit) => ({ records: records.filter((r) => r.index >= from).slice(0, limit) }),
    keyHandovers: async () => (existsSync(join(dir, BUNDLE_FILES.handovers)) ? JSON.parse(read(BUNDLE_FILES.handovers)) : { handovers: [] }),
  };
}

/** Wraps an online source so that what was fetched can be written out as a bundle. */
function recording(source: AuditLogApi) {
  const seen = { logKey: '', jwks: '', checkpoint: '', handovers: '', records: [] as { index: number; jws: string }[] };
  // Asked for once: the verifier checks records under these keys, and the deployment report its statements.
  let jwks: ReturnType<AuditLogApi['jwks']> | undefined;
  const wrapped: AuditSource = {
    logKey: async () => (seen.logKey = await source.logKey()),
    jwks: () =>
      (jwks ??= source.jwks().then((keys) => {
        seen.jwks = JSON.stringify(keys, null, 2);
        return keys;
      })),
    checkpoint: async () => (seen.checkpoint = await source.checkpoint()),
    cosignedCheckpoint: async (cosignatures) => (seen.checkpoint = await source.cosignedCheckpoint(cosignatures)),
    keyHandovers: async () => {
      const handovers = await source.keyHandovers();
      seen.handovers = JSON.stringify(handovers, null, 2);
      return handovers;
    },
    records: async (from, limit) => {
      const page = await source.records(from, limit);
      // Pages may arrive in any order (the verifier asks for several at once): each record in its place.
      for (const r of page.records) seen.records[r.index] = r;
      return page;
    },
    consistency: (from, to) => source.consistency(from, to),
  };
  return { wrapped, seen };
}

async function auditVerify(ctx: AuditCommandContext): Promise<{ json: unknown; text: string; ok: boolean }> {
  const started = performance.now();
  let source: AuditSource;
  let log = ctx.log;
  let seen: ReturnType<typeof recording>['seen'] | undefined;
  if (ctx.bundle) {
    const bundle = bundleSource(ctx.bundle);
    source = bundle;
    log = bundle.log;
  } else {
    const rec = recording(ctx.api!);
    source = rec.wrapped;
    seen = rec.seen;
  }
  // Known only now for a bundle, which names its log itself.
  const statePath = ctx.statePath ?? defaultStatePath(log);
  const state = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as SavedState) : undefined;
  // A first verification takes no key from the server it is checking, unless told to (issue 30).
  if (!state && !ctx.logKey && !ctx.trustOnFirstUse) {
    const error = `no log key is pinned for ${log} (no saved state at ${statePath}): pass --log-key <vkey>, the key your provider published out of band, or --trust-on-first-use to take the server's own key this once`;
    return { ok: false, json: { ok: false, log, error }, text: `REFUSED: ${error}.` };
  }
  // The deployment statements and their keys are fetched while the log is verified, and checked after it.
  const onRecord = ctx.api ? Promise.all([ctx.api.deployments(), source.jwks()]) : null;
  onRecord?.catch(() => undefined); // awaited below, unless the verification fails first
  const result = await verifyAuditLog(source, {
    log,
    state,
    vkey: ctx.logKey,
    checkSignatures: ctx.checkSignatures,
    checkRecords: parallelRecordChecker(),
    witnesses: ctx.witnesses,
    quorum: ctx.quorum,
  });
  if (!result.ok) {
    return { ok: false, json: { ok: false, log, error: result.error }, text: `FAILED: ${log}: ${result.error}` };
  }
  // Which deployment serves the log, and what changed since the saved state (online only: a bundle has no statements).
  const deployments = onRecord ? await deploymentReport(onRecord, state) : null;
  if (deployments && 'error' in deployments)
    return { ok: false, json: { ok: false, log, error: deployments.error }, text: `FAILED: ${log}: ${deployments.error}` };
  // Sealed records (docs/design.md §7): every reveal matches its commitment, and no seal is past its date unrevealed.
  const verified = seen ? seen.records.slice(0, result.checkpoint.size) : [];
  const seals = checkSeals(verified, sealClock(verified));
  if (seals.findings.length > 0) {
    const error = `sealed records: ${seals.findings.join('; ')}`;
    return { ok: false, json: { ok: false, log, error, seals: seals.seals }, text: `FAILED: ${log}: ${error}.` };
  }
  const build = deployments?.latest?.statement.build ?? null;
  if (ctx.expectBuild && build !== ctx.expectBuild) {
    const error = `the log is served by a deployment of build ${build ?? '(undeclared)'}, not the expected ${ctx.expectBuild}`;
    return { ok: false, json: { ok: false, log, error, build }, text: `FAILED: ${log}: ${error}.` };
  }
  const seconds = (performance.now() - started) / 1000;
  mkdirSync(join(statePath, '..'), { recursive: true });
  const saved: SavedState = {
    ...result.state,
    ...(deployments?.latest ? { deployment: { index: deployments.latest.index } } : state?.deployment ? { deployment: state.deployment } : {}),
  };
  writeFileSync(statePath, `${JSON.stringify(saved, null, 2)}\n`);
  if (ctx.saveBundle && seen) {
    mkdirSync(ctx.saveBundle, { recursive: true });
    writeFileSync(join(ctx.saveBundle, BUNDLE_FILES.meta), JSON.stringify({ log }, null, 2));
    writeFileSync(join(ctx.saveBundle, BUNDLE_FILES.logKey), seen.logKey);
    writeFileSync(join(ctx.saveBundle, BUNDLE_FILES.jwks), seen.jwks);
    writeFileSync(join(ctx.saveBundle, BUNDLE_FILES.checkpoint), seen.checkpoint);
    if (seen.handovers) writeFileSync(join(ctx.saveBundle, BUNDLE_FILES.handovers), seen.handovers);
    writeFileSync(
      join(ctx.saveBundle, BUNDLE_FILES.records),
      `${seen.records
        .slice(0, result.checkpoint.size)
        .map((r) => JSON.stringify(r))
        .join('\n')}\n`,
    );
  }
  const { size, root } = result.checkpoint;
  const rootHex = hexOf(root);
  const pinned = ctx.logKey ? 'the log key given with --log-key' : "the server's own log key (trusted on first use)";
  const since =
    result.previousSize === null
      ? `first verification, under ${pinned}: the key and the checkpoint are now pinned`
      : `consistent with the saved checkpoint at ${result.previousSize} records`;
  const how = ctx.checkSignatures ? 'every record signature, ' : '';
  const witnessed =
    result.cosignedBy.length > 0
      ? `\nCosigned by ${result.cosignedBy.length} of ${ctx.witnesses!.length} witnesses (quorum ${ctx.quorum ?? 1}): ${result.cosignedBy.join(', ')}.`
      : '';
  const handedOver =
    result.handovers.length > 0
      ? `\nFollowed ${result.handovers.length} key hand-over(s) from the pinned key: ${result.handovers.map((h) => `change ${h.change} (provider record ${h.approvalIndex})`).join(', ')}.`
      : '';
  const stillSealed = seals.seals.filter((x) => x.revealedAt === null);
  const sealedLine =
    seals.seals.length > 0
      ? `\nSealed accesses: ${seals.seals.length} (${seals.seals.length - stillSealed.length} revealed, each matching its commitment${stillSealed.length ? `; ${stillSealed.map((x) => `${x.seal} on ${x.vm} sealed until ${x.sealUntil}`).join(', ')}` : ''}).`
      : '';
  const deployed = deployments
    ? `\n${[`Served by build ${build ?? '(undeclared)'}${ctx.expectBuild ? ' (as expected)' : ''}.`, ...deployments.lines].join('\n')}`
    : '';
  return {
    ok: true,
    json: {
      ok: true,
      log,
      size,
      root: rootHex,
      previousSize: result.previousSize,
      state: statePath,
      seconds,
      cosignedBy: result.cosignedBy,
      handovers: result.handovers,
      build,
      deploymentChanges: deployments?.lines ?? [],
      seals: seals.seals,
    },
    text: `OK: ${log}: ${size} records verified (${how}root ${rootHex.slice(0, 16)}…), ${since}.${witnessed}${handedOver}${sealedLine}${deployed}\nSaved the checkpoint to ${statePath}${ctx.saveBundle ? `; bundle in ${ctx.saveBundle}` : ''}.`,
  };
}

export interface TailFilter {
  actor?: string;
  action?: string;
  outcome?: string;
  limit: number;
}

async function auditTail(api: AuditLogApi, filter: TailFilter) {
  const size = Number((await api.checkpoint()).split('\n')[1]);
  const records: AuditRecord[] = [];
  for (let from = Math.max(0, size - filter.limit); from < size; ) {
    const page = await api.records(from, Math.min(1000, size - from));
    if (page.records.length === 0) break;
    for (const { jws } of page.records) records.push(jwsPayload(jws));
    from += page.records.length;
  }
  const matches = (pattern: string | undefined, value: string | null | undefined) => !pattern || (value ?? '').includes(pattern);
  return records.filter(
    (r) => matches(filter.actor, r.actor.id ?? r.actor.type) && matches(filter.action, r.action) && (!filter.outcome || r.outcome === filter.outcome),
  );
}

const TAIL_COLUMNS: Column<AuditRecord>[] = [
  ['INDEX', (r) => r.index],
  ['TIME', (r) => r.time],
  ['ACTOR', (r) => (r.actor.id ? `${r.actor.id}` : r.actor.type)],
  ['ACTION', (r) => r.action],
  ['TARGET', (r) => (r.target ? `${r.target.type}/${r.target.id}` : '')],
  ['OUTCOME', (r) => r.outcome],
  ['REASON', (r) => r.reason ?? ''],
];

const recordLine = (index: number, r: AuditRecord) =>
  `#${index} ${r.time} ${r.actor.id ?? r.actor.type} (${r.actor.type}) ${r.action}${r.target ? ` ${r.target.type}/${r.target.id}` : ''} ${r.outcome}${r.reason ? ` (${r.reason})` : ''} ✓`;

/** `audit tail --follow`: the tenant's live stream (sdk/audit-stream.ts), each record printed once verified. */
async function followLog(o: LogOptions & { actor?: string; action?: string; outcome?: string; limit?: number; count?: number }, emit: Emit): Promise<Output> {
  if (!o.tenant) throw new UsageError("--follow reads a tenant's live log: pass --tenant ID (with its owner key or a toolstack's).");
  const api = tenantClient({ ...o, tenant: o.tenant }, ['audit:read']);
  const size = Number(
    ((await api.GET('/v1/tenants/{tenant}/audit/checkpoint', { params: { path: { tenant: o.tenant } }, parseAs: 'text' })).data ?? '').split('\n')[1] ?? 0,
  );
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  let printed = 0;
  const from = Math.max(0, size - (o.limit ?? 10));
  // Sealed accesses: a reveal that does not match, or a seal past its date, is flagged as the records show it.
  const seals = new SealWatcher({ fromStart: from === 0 && !o.outcome });
  try {
    const stream = verifiedAuditStream(api, o.tenant, { from, filter: o.outcome ? { outcome: o.outcome as 'denied' } : {}, signal: controller.signal });
    for await (const event of stream) {
      if (event.kind === 'record') {
        const r = event.record;
        for (const finding of seals.observe({ index: event.index, jws: event.jws }))
          emit({ stream: true, json: { index: event.index, sealFinding: finding }, text: `⚠ sealed access: ${finding}` });
        if ((o.actor && !(r.actor.id ?? r.actor.type).includes(o.actor)) || (o.action && !r.action.includes(o.action))) continue;
        emit({ stream: true, json: { index: event.index, record: r, jws: event.jws }, text: recordLine(event.index, r) });
        if (o.count && ++printed >= o.count) break;
      } else if (event.kind === 'checkpoint') {
        emit({
          stream: true,
          json: { checkpoint: event.size, verified: true },
          text: `— checkpoint ${event.size} verified${event.tree ? ' (root recomputed from the records)' : ''}`,
        });
      } else if (event.kind === 'end') {
        const why =
          event.reason === 'revoked'
            ? 'this key may no longer read the log'
            : event.reason === 'lagging'
              ? 'this reader fell too far behind'
              : event.reason === 'token_expired'
                ? 'its token expired'
                : 'the emulator was reset';
        emit({
          stream: true,
          json: { ended: event.reason, resumeFrom: event.resumeFrom },
          text: `— the server ended the stream: ${why}${event.reason === 'revoked' ? '' : `; resuming from record ${event.resumeFrom}`}`,
        });
        if (event.reason === 'revoked') throw new VerificationFailed('the stream was ended: this key was revoked or may no longer read the log');
      } else {
        emit({ stream: true, json: { reconnecting: event.from }, text: `— stream lost (${event.error}); resuming from record ${event.from}` });
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    controller.abort(); // ends the stream's connection too
    process.off('SIGINT', stop);
  }
  return { json: { followed: printed }, text: `Followed ${printed} record(s).` };
}

/** Set when `audit verify` fails: the command printed why and exits 1. */
export class VerificationFailed extends Error {}

/**
 * When a log that verified before fails against its saved state and the
 * server is an emulator, the likeliest cause is no provider's doing: an
 * `emulator reset` (or import) started its logs again. Say so, and how to go on.
 */
async function emulatorResetHint(o: GlobalOptions, statePath: string): Promise<string | null> {
  if (!existsSync(statePath)) return null;
  const info = (await fetch(`${baseUrl(o)}/v1/info`, { signal: AbortSignal.timeout(5000) }).then(
    (r) => r.json(),
    () => null,
  )) as { mode?: string } | null;
  if (info?.mode !== 'emulator') return null;
  return `${baseUrl(o)} is an emulator: \`custodes emulator reset\` (or an import) starts its logs again, and the checkpoint saved in ${statePath} belongs to the log before. If that is what happened, delete that file (or pass another --state) to verify the new log from its start; if not, the log was rolled back.`;
}

interface LogOptions extends GlobalOptions {
  tenant?: string;
  provider?: boolean;
}

/** The log an audit command reads, and a client that may read it: a tenant's (its owner key) or, with --provider, the provider's (an auditor's key). */
function logOf(o: LogOptions): { log: string; api: () => AuditLogApi } {
  if (o.provider) return { log: 'provider', api: () => auditSource(adminClient(o), 'provider') };
  if (o.tenant) return { log: `tenants/${o.tenant}`, api: () => auditSource(tenantClient({ ...o, tenant: o.tenant! }, ['audit:read']), `tenants/${o.tenant}`) };
  throw new UsageError('Name the log: --tenant ID (with its owner key) or --provider.');
}

const logOptions = (command: Command) =>
  command.option('--tenant <id>', "a tenant's log (sign with its owner key)").option('--provider', "the provider's log (sign with an auditor's key)");

export function auditCommands(program: Command, emit: Emit): void {
  const audit = program.command('audit').description('verify and read the signed audit logs');
  action<
    LogOptions & {
      state?: string;
      bundle?: string;
      saveBundle?: string;
      skipSignatures?: boolean;
      witness?: string[];
      quorum?: number;
      logKey?: string;
      trustOnFirstUse?: boolean;
      expectBuild?: string;
    }
  >(
    logOptions(audit.command('verify').description('verify a log offline against the checkpoint saved by the last run'))
      .option('--state <file>', 'where the last accepted checkpoint is kept')
      .option('--bundle <dir>', 'verify a downloaded copy, with no network at all')
      .option('--save-bundle <dir>', 'write such a copy while verifying online')
      .option('--skip-signatures', "check the tree only, not each record's signature")
      .option('--witness <vkey>', "a witness's cosigner key (custodes witness init); repeat for each", (v: string, all: string[] = []) => [...all, v])
      .addOption(numberOption('--quorum <k>', 'refuse a checkpoint fewer than k of the --witness keys cosigned (default 1)'))
      .option('--log-key <vkey>', "pin the log's checkpoint key (C2SP vkey, from your provider out of band); needed the first time unless --trust-on-first-use")
      .option('--trust-on-first-use', "with no saved state and no --log-key: take the server's own log key this once, and pin it")
      .option('--expect-build <sha256>', 'refuse a log served by a deployment that declares another build (npm run build:worker prints the digest)'),
    emit,
    async (_, o) => {
      if (o.quorum !== undefined && !o.witness?.length) throw new UsageError("--quorum needs the witnesses' keys: pass --witness <vkey> for each.");
      const online = o.bundle ? null : logOf(o); // a bundle names its own log
      const result = await auditVerify({
        log: online?.log ?? '',
        api: online?.api(),
        statePath: o.state,
        bundle: o.bundle,
        saveBundle: o.saveBundle,
        checkSignatures: !o.skipSignatures,
        witnesses: o.witness,
        quorum: o.quorum,
        logKey: o.logKey,
        trustOnFirstUse: o.trustOnFirstUse,
        expectBuild: o.expectBuild,
      });
      if (!result.ok) {
        const hint =
          online && /rollback|rewritten|shrank|consisten/i.test(result.text) ? await emulatorResetHint(o, o.state ?? defaultStatePath(online.log)) : null;
        throw new VerificationFailed(
          o.json ? JSON.stringify({ ...(result.json as object), ...(hint ? { hint } : {}) }, null, 2) : `${result.text}${hint ? `\nhint: ${hint}` : ''}`,
        );
      }
      return result;
    },
  );
  action<TenantOptions & { sample?: number }>(
    tenantOptions(
      audit
        .command('contents')
        .description("fetch the versions your verified log names (of live and deleted VMs and disks) and check each one's bytes against it"),
    ).addOption(numberOption('--sample <n>', 'check a random sample of n versions (default all)')),
    emit,
    async (_, o): Promise<Output> => {
      const records = await verifiedRecords(o, 'audit contents');
      const api = tenantClient(o, ['audit:read', 'memory:read', 'disk:read']);
      const report = await checkLogContents(api, o.tenant, records, { ...(o.sample !== undefined ? { sample: o.sample } : {}) });
      const show = (v: NamedVersion) => `${v.space} ${v.resource} page ${v.index} version ${v.version} (written by record ${v.writtenBy}, ${v.digest})`;
      const lines = [
        `${report.checked} of ${report.named} version(s) the log names checked; ${report.purged} purged by your own audited purges.`,
        ...report.missing.map((v) => `MISSING: ${show(v)}`),
        ...report.altered.map((v) => `ALTERED: ${show(v)}: ${v.why}`),
      ];
      if (report.missing.length + report.altered.length > 0)
        throw new VerificationFailed(o.json ? JSON.stringify({ ok: false, ...report }, null, 2) : `FAILED: ${lines.join('\n')}`);
      return { json: { ok: true, ...report }, text: `OK: ${lines.join('\n')}` };
    },
  );
  action<LogOptions & { actor?: string; action?: string; outcome?: string; limit?: number; follow?: boolean; count?: number }>(
    logOptions(audit.command('tail').description('the latest records, filtered; with --follow, each new one as it commits, verified'))
      .option('--actor <id>', 'records whose actor id contains this')
      .option('--action <name>', 'records whose action contains this')
      .addOption(choiceOption('--outcome <outcome>', 'records with this outcome', ['allowed', 'denied', 'failed']))
      .addOption(numberOption('--limit <n>', 'how many of the latest records to scan (default 50)'))
      .option('--follow', "keep printing records as they commit (a tenant's log), each verified; resumes after a disconnect")
      .addOption(numberOption('--count <n>', 'with --follow: stop after n records')),
    emit,
    async (_, o): Promise<Output> => {
      if (o.follow) return followLog(o, emit);
      const records = await auditTail(logOf(o).api(), { actor: o.actor, action: o.action, outcome: o.outcome, limit: o.limit ?? 50 });
      return { json: { records }, text: table(records, TAIL_COLUMNS) };
    },
  );
}
