/**
 * Every /v1 request leaves exactly one signed audit record (DESIGN §5).
 *
 * `auditScope` (per route, before authentication) names the action and the
 * target, and picks the log: the tenant's when the request names a tenant's
 * resource — so an admin's denied attempt on a tenant's VM lands in that
 * tenant's log — else the provider's. A handler whose request changes data
 * calls `audit.commit(writes)`: the writes and the record commit together. If
 * the handler did not commit (a read, a denial, a failure), `auditRequests`
 * appends the record after the response is formed and before it is sent.
 * Either way the record is covered by a signed checkpoint before the client
 * sees the response; if it cannot be written, the response is withheld.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import { appendToLog, auditLogOf } from '../../audit/append';
import { sealReceipt } from '../../audit/receipts';
import type { Principal } from '../../auth/principals';
import { bounded, clientAddress, MAX_PATH_CHARS, MAX_RECORDED_ID_CHARS } from '../../http/limits';
import type { Commit, CommitOptions, CommitResult, WriteStatement } from '../../audit/commit';
import { ensureSigningKeyRegistered, UnapprovedAuditKey } from '../../audit/keys';
import { PROVIDER_LOG, tenantLog } from '../../audit/logs';
import type { Actor, Outcome, RecordDraft, Region, Target } from '../../audit/record';
import { REPLAY_CHALLENGE } from '../../auth/middleware';
import { requestPath } from '../../http/openapi';
import { problemResponse } from '../../http/problem';
import { tokenIdClaim } from '../../services/token-replays';
import { forgetRegisteredKey } from '../../auth/principals';

/** Response header naming the record a request produced: `log=<log>; index=<n>`. */
export const AUDIT_HEADER = 'Custodes-Audit';

/** Why a token is refused only in its request's audit batch (see `RequestAudit.append`). */
export type LateRefusal = 'replay' | 'principal';

/**
 * Thrown from `commit` when the request's audit batch refuses its token —
 * already used, or its key revoked or changed since it was read — so the
 * handler's work is void.
 */
export class TokenRefused extends Error {
  constructor(readonly reason: LateRefusal) {
    super(reason === 'replay' ? 'token replayed' : 'principal changed');
    this.name = 'TokenRefused';
  }
}

export const refusedResponse = (c: Context<AppEnv>, reason: LateRefusal) =>
  reason === 'replay'
    ? problemResponse(c, 'token_replayed', 'This token was already used; mint a new token for every request.', undefined, { 'WWW-Authenticate': REPLAY_CHALLENGE })
    : problemResponse(c, 'token_key_unknown', 'The token\'s key was revoked or changed while this request ran; nothing was done.', undefined, {
        'WWW-Authenticate': 'Bearer realm="custodes", error="invalid_token", error_description="token_key_unknown"',
      });

const isLateRefusal = (result: CommitResult): result is Extract<CommitResult, { ok: false }> & { rejected: LateRefusal } =>
  !result.ok && (result.rejected === 'replay' || result.rejected === 'principal');

export class RequestAudit {
  action = 'route.unknown';
  target: Target | null = null;
  log = PROVIDER_LOG;
  /** Regions a read returned (content routes set it before responding), for the record the middleware appends. */
  regions: Region[] | null = null;
  /** Set once this request's record is in a log (or counted into a refusal summary). */
  recorded: Recorded | null = null;
  /** Whether the token's jti has been consumed (or found already used). */
  #tokenSettled = false;

  constructor(private readonly c: Context<AppEnv>) {}

  /** The request path as recorded: bounded, so no request can put an arbitrarily long string into a record. */
  get path(): string {
    return bounded(requestPath(this.c), MAX_PATH_CHARS);
  }

  actor(): Actor {
    const principal = this.c.get('principal');
    const ip = clientAddress(this.c);
    if (principal) return { type: principal.type, id: principal.id, kid: principal.kid, jti: principal.jti, ...(principal.sid ? { sid: principal.sid } : {}), ip };
    return { type: 'anonymous', id: null, kid: null, jti: null, ip };
  }

  draft(outcome: Outcome, reason: string | null, options: CommitOptions = {}): RecordDraft {
    return {
      requestId: this.c.get('requestId'),
      actor: this.actor(),
      action: this.action,
      target: options.target ?? this.target,
      outcome,
      reason,
      request: { method: this.c.req.method, path: this.path },
      ...(options.regions ? { regions: options.regions } : this.regions && outcome === 'allowed' ? { regions: this.regions } : {}),
      ...(options.details ? { details: options.details } : {}),
    };
  }

  /**
   * Appends this request's record with `writes`, and in the same batch the
   * token's checks: its jti is consumed (auth/middleware.ts,
   * `with-audit-record`) and its key's row is asserted unchanged since
   * authentication read it (possibly from cache: auth/principals.ts).
   */
  async append(log: string, draft: RecordDraft, writes: WriteStatement[] = []): Promise<CommitResult> {
    const principal = this.c.get('principal');
    const checks =
      principal && !this.#tokenSettled
        ? [...tokenIdClaim(principal.id, principal.jti, principal.expiresAt), ...(principal.stillValid ? [principal.stillValid] : [])]
        : [];
    const result = await appendToLog(this.c.env, log, draft, [...checks, ...writes]);
    if (result.ok) {
      this.#tokenSettled = true;
      this.recorded = { log, index: result.auditIndex };
      return { ...result, rows: result.rows.slice(checks.length) }; // the caller's rows only
    }
    if (isLateRefusal(result)) {
      this.#tokenSettled = true; // the denial is recorded without the checks
      if (result.rejected === 'principal') forgetRegisteredKey(principal.kid);
    }
    return result;
  }

  /** Commits `writes` with this request's record (outcome `allowed`). */
  readonly commit: Commit = async (writes, options = {}) => {
    if (this.recorded) throw new Error('a request commits at most once: it has exactly one audit record');
    const log = options.log ?? this.log;
    const draft = this.draft(options.outcome ?? 'allowed', options.reason ?? null, options);
    const result = await this.append(log, draft, writes);
    if (isLateRefusal(result)) throw new TokenRefused(result.rejected);
    if (result.ok) {
      // Notices: the same record in each other log concerned, naming the primary one.
      for (const other of new Set(options.notify ?? [])) {
        if (other === log) continue;
        const notice = await appendToLog(this.c.env, other, { ...draft, details: { ...(draft.details ?? {}), primary: { log, index: result.auditIndex } } });
        if (!notice.ok) throw new Error(`notice to ${other} failed: ${notice.message}`);
      }
    }
    return result;
  };
}

function outcomeOf(status: number): Outcome {
  if (status < 400) return 'allowed';
  if (status === 401 || status === 403 || status === 404 || status === 429) return 'denied';
  return 'failed';
}

/** The log a principal may read and so may see named in its answers: its tenant's, or the provider's for admins. */
const homeLog = (principal: Principal | undefined): string | null =>
  !principal ? null : principal.tenant ? tenantLog(principal.tenant) : principal.type === 'admin' ? PROVIDER_LOG : null;

/**
 * Whether a refusal in `log` comes from outside it — anonymous, or a
 * principal of another tenant — and so may be counted into a summary rather
 * than recorded in full (audit/sequencer.ts `appendRefusal`). An admin's
 * refused attempt on a tenant is always recorded in full: watching the
 * watchers is the point.
 */
const isOutsider = (principal: Principal | undefined, log: string): boolean => !principal || (principal.type !== 'admin' && homeLog(principal) !== log);

/** Where a request's record went: a place in a log, or the window of a summary that counts it. */
export type Recorded = { log: string; index: number } | { log: string; window: number };

/**
 * Records a response the handler did not commit (a read, a refusal, a
 * failure). A refusal or failure about another log than the caller's own goes to that
 * log — so the owner of what was reached for sees the attempt — and, for an
 * authenticated caller, to its own log too, which is the one its answer
 * names: another tenant's id and a made-up one are then answered alike.
 */
async function recordResponse(c: Context<AppEnv>, audit: RequestAudit): Promise<void> {
  const outcome = outcomeOf(c.res.status);
  const draft = { ...audit.draft(outcome, c.get('problemCode') ?? null), status: c.res.status };
  const principal = c.get('principal');
  const home = homeLog(principal);
  if (outcome === 'allowed' || home === audit.log) return recordIn(audit.log);
  const elsewhere = async () => {
    const result = isOutsider(principal, audit.log)
      ? await auditLogOf(c.env, audit.log).appendRefusal(audit.log, draft)
      : await appendToLog(c.env, audit.log, draft);
    if (!result.ok) throw new Error(result.message);
    if (!home) audit.recorded = 'window' in result ? { log: result.log, window: result.window } : { log: result.log, index: result.auditIndex };
  };
  await Promise.all([home ? recordIn(home) : null, elsewhere()]);

  async function recordIn(log: string): Promise<void> {
    let result = await audit.append(log, draft);
    if (isLateRefusal(result)) {
      // A replayed token or a revoked key: whatever the handler produced is withheld; the refusal is what gets recorded.
      c.res = refusedResponse(c, result.rejected);
      const code = result.rejected === 'replay' ? 'token_replayed' : 'token_key_unknown';
      result = await audit.append(log, { ...audit.draft('denied', code), status: 401 });
    }
    if (!result.ok) throw new Error(result.message);
  }
}

/** `log=…; index=…` for a caller who may read the log; otherwise a sealed receipt (audit/receipts.ts). */
async function auditHeader(c: Context<AppEnv>, recorded: Recorded): Promise<string> {
  if ('index' in recorded && homeLog(c.get('principal')) === recorded.log) return `log=${recorded.log}; index=${recorded.index}`;
  return `receipt=${await sealReceipt(c.env.AUDIT_SIGNING_JWK!, recorded)}`;
}

export function auditRequests(): MiddlewareHandler<AppEnv> {
  return async function auditRequestsMiddleware(c, next) {
    const audit = new RequestAudit(c);
    c.set('audit', audit);
    try {
      await ensureSigningKeyRegistered(c.env, { requestId: c.get('requestId'), request: { method: c.req.method, path: audit.path } });
    } catch (error) {
      // Fail closed: a key no second admin approved signs nothing, so nothing is served.
      if (!(error instanceof UnapprovedAuditKey)) throw error;
      c.res = problemResponse(c, 'audit_unavailable', error.message);
      return;
    }
    if (requestPath(c).length > MAX_PATH_CHARS) {
      // Refused before routing: the record keeps a bounded prefix of the path.
      c.res = problemResponse(c, 'uri_too_long', `Request paths are limited to ${MAX_PATH_CHARS} characters.`, { maxChars: MAX_PATH_CHARS });
    } else {
      await next();
    }
    if (!audit.recorded) {
      try {
        await recordResponse(c, audit);
      } catch (error) {
        // No record, no response: a read must not escape the log.
        console.error(`[${c.get('requestId')}] audit append failed`, error);
        c.res = problemResponse(c, 'audit_unavailable', 'The audit log could not record this request; nothing was returned. Retry.');
        return;
      }
    }
    c.res.headers.set(AUDIT_HEADER, await auditHeader(c, audit.recorded!));
  };
}

export interface ScopeOptions {
  /** e.g. `host.create`, `vm.migrate`. */
  action: string;
}

/**
 * Which log a path names costs a read; the answers barely change, so each
 * isolate remembers them: a resource never changes tenant, and a tenant that
 * existed a minute ago may keep receiving records for that minute after deletion.
 */
const ownerOf = new Map<string, string>();
const knownTenants = new Map<string, number>();
const CACHE_LIMIT = 10_000;
const TENANT_TTL_MS = 60_000;

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/**
 * Path parameters that name a tenant-owned resource, most specific first, the
 * table that knows its owner, and the record's target type. An access request
 * belongs to the tenant whose VM it asks for: every look at it, every
 * decision and every use, refused ones included, lands in that tenant's log.
 */
const OWNED_RESOURCES = [
  ['vm', 'vms', 'vm'],
  ['disk', 'disks', 'disk'],
  ['snapshot', 'snapshots', 'snapshot'],
  ['toolstack', 'toolstacks', 'toolstack'],
  ['key', 'wrapped_keys', 'key'],
  ['request', 'access_requests', 'access_request'],
] as const;

async function resourceOwner(db: D1Database, table: string, id: string): Promise<string | null> {
  const key = `${table}/${id}`;
  const cached = ownerOf.get(key);
  if (cached) return cached;
  const owner = await db.prepare(`SELECT tenant_id FROM ${table} WHERE id = ?`).bind(id).first<string>('tenant_id');
  if (owner) remember(ownerOf, key, owner);
  return owner;
}

async function tenantExists(db: D1Database, tenant: string): Promise<boolean> {
  if ((knownTenants.get(tenant) ?? 0) > Date.now()) return true;
  const exists = !!(await db.prepare('SELECT 1 AS x FROM tenants WHERE id = ?').bind(tenant).first('x'));
  if (exists) remember(knownTenants, tenant, Date.now() + TENANT_TTL_MS);
  return exists;
}

/**
 * Names the action, and resolves target and log from the route's path
 * parameters. A resource's own tenant wins over the tenant in the path: when
 * tenant A's token reaches for B's VM, the attempt lands in B's log.
 */
export function auditScope({ action }: ScopeOptions): MiddlewareHandler<AppEnv> {
  return async function auditScopeMiddleware(c, next) {
    const audit = c.get('audit');
    audit.action = action;
    const params = c.req.param() as Record<string, string | undefined>;
    const db = c.env.DB;
    const owned = OWNED_RESOURCES.find(([param]) => params[param]);
    if (owned) {
      const [param, table, type] = owned;
      audit.target = { type, id: bounded(params[param]!, MAX_RECORDED_ID_CHARS) };
      const owner = await resourceOwner(db, table, params[param]!);
      if (owner) audit.log = tenantLog(owner);
      else if (params.tenant && (await tenantExists(db, params.tenant))) audit.log = tenantLog(params.tenant);
    } else if (params.tenant) {
      audit.target = { type: 'tenant', id: bounded(params.tenant, MAX_RECORDED_ID_CHARS) };
      // Only existing tenants have logs: a made-up id must not mint one.
      if (await tenantExists(db, params.tenant)) audit.log = tenantLog(params.tenant);
    } else if (params.host) {
      audit.target = { type: 'host', id: bounded(params.host, MAX_RECORDED_ID_CHARS) };
    }
    return next();
  };
}
