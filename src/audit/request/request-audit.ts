/**
 * One request's audit record (docs/design.md §5): drafted from the request, committed
 * with the handler's writes, or appended after the response when the handler
 * did not commit (a read, a refusal, a failure), with notices to the other
 * logs concerned. The middleware that drives it is ./middleware.ts; which log
 * it goes to is ./log-routing.ts.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { forgetRegisteredKey } from '../../auth/principals';
import { tokenIdClaim } from '../../auth/token-replays';
import { bounded, clientAddress, MAX_PATH_CHARS } from '../../platform/http/limits';
import { requestPath } from '../../platform/http/paths';
import { clockOffsetMs } from '../../platform/clock';
import type { AuditedAction } from '../actions';
import type { Actor, Outcome, RecordDraft, Region, Target } from '../format/record';
import { appendToLog, auditLogOf } from '../log/append';
import type { Commit, CommitOptions, CommitResult, WriteStatement } from '../log/commit';
import type { AppendEffects } from '../log/extensions';
import { PROVIDER_LOG } from '../log/logs';
import { deliverNotice, noticeDraft } from '../log/notices';
import { homeLog, isOutsider } from './log-routing';
import type { Recorded, RequestAudit } from './types';

/** Why a token is refused only in its request's audit batch (see `AuditedRequest.append`). */
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

/**
 * Thrown from `commit` when the batch found the request's Idempotency-Key no
 * longer claimed by it (the claim expired and a retry took the key): nothing
 * was written, and the client is told the key is in use.
 */
export class IdempotencyClaimLost extends Error {
  constructor() {
    super('idempotency claim lost');
    this.name = 'IdempotencyClaimLost';
  }
}

const isLateRefusal = (result: CommitResult): result is Extract<CommitResult, { ok: false }> & { rejected: LateRefusal } =>
  !result.ok && (result.rejected === 'replay' || result.rejected === 'principal');

/** The draft's `clock` when the emulator moved the server's clock (src/platform/clock.ts). */
export const emulatedClock = (): Pick<RecordDraft, 'clock'> => (clockOffsetMs() ? { clock: { emulated: true, offsetMs: clockOffsetMs() } } : {});

/** A record's outcome from its response's status. */
function outcomeOf(status: number): Outcome {
  if (status < 400) return 'allowed';
  if (status === 401 || status === 403 || status === 404 || status === 429) return 'denied';
  return 'failed';
}

export class AuditedRequest implements RequestAudit {
  action: AuditedAction = 'route.unknown';
  target: Target | null = null;
  log = PROVIDER_LOG;
  regions: Region[] | null = null;
  recorded: Recorded | null = null;
  committed = false;
  /** Whether the token's jti has been consumed (or found already used). */
  #tokenSettled = false;
  /** Run by the commit besides the handler's writes (`alsoOnCommit`). */
  #commitWrites: WriteStatement[] = [];

  constructor(private readonly c: Context<AppEnv>) {}

  /** The request path as recorded: bounded, so no request can put an arbitrarily long string into a record. */
  get path(): string {
    return bounded(requestPath(this.c), MAX_PATH_CHARS);
  }

  actor(): Actor {
    const principal = this.c.get('principal');
    const ip = clientAddress(this.c);
    if (principal)
      return { type: principal.type, id: principal.id, kid: principal.kid, jti: principal.jti, ...(principal.sid ? { sid: principal.sid } : {}), ip };
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
      ...(options.status ? { status: options.status } : {}),
      ...emulatedClock(),
    };
  }

  /**
   * Appends this request's record with `writes`, and in the same batch the
   * token's checks: its jti is consumed (auth/middleware.ts,
   * `with-audit-record`) and its key's row is asserted unchanged since
   * authentication read it (possibly from cache: auth/principals.ts).
   */
  async append(log: string, draft: RecordDraft, writes: WriteStatement[] = [], effects: AppendEffects = {}): Promise<CommitResult> {
    const principal = this.c.get('principal');
    const checks =
      principal && !this.#tokenSettled
        ? [...tokenIdClaim(principal.id, principal.jti, principal.expiresAt), ...(principal.stillValid ? [principal.stillValid] : [])]
        : [];
    const result = await appendToLog(this.c.env, log, draft, [...checks, ...writes], { ...effects, ...this.c.get('hooks')?.appendEffects });
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

  alsoOnCommit(writes: WriteStatement[]): void {
    this.#commitWrites.push(...writes);
  }

  readonly commit: Commit = async (writes, options = {}) => {
    if (this.recorded) throw new Error('a request commits at most once: it has exactly one audit record');
    // What the record says, apart from what features do with it (the effects).
    const { target, log: logOption, details, regions, outcome, reason, status, ...effects } = options;
    const log = logOption ?? this.log;
    const draft = this.draft(outcome ?? 'allowed', reason ?? null, { target, details, regions, status });
    const result = await this.append(log, draft, [...this.#commitWrites, ...writes], effects);
    if (isLateRefusal(result)) throw new TokenRefused(result.rejected);
    if (!result.ok && result.rejected === 'idempotency') throw new IdempotencyClaimLost();
    if (!result.ok) return result;
    this.committed = true;
    // The fault strikes between the record's batch and its notices: the outbox rows it left are what a restart finishes.
    this.c.get('hooks')?.afterCommit();
    // Notices: the same record in each other log concerned, naming the primary one (audit/log/notices.ts).
    const primary = { log, index: result.auditIndex };
    for (const other of new Set(effects.notify ?? [])) {
      if (other !== log) await deliverNotice(this.c.env, { ...primary, targetLog: other, draft: noticeDraft(draft, primary) });
    }
    return { ...result, rows: result.rows.slice(this.#commitWrites.length) }; // the handler's rows only
  };

  /**
   * Records a response the handler did not commit (a read, a refusal, a
   * failure). A refusal or failure about another log than the caller's own
   * goes to that log — so the owner of what was reached for sees the attempt —
   * and, for an authenticated caller, to its own log too, which is the one its
   * answer names: another tenant's id and a made-up one are then answered
   * alike. Answers the late refusal, if the batch refused the token, whose
   * denial was recorded instead.
   */
  async recordResponse(status: number, reason: string | null): Promise<{ refused: LateRefusal | null }> {
    const draft = { ...this.draft(outcomeOf(status), reason), status };
    const principal = this.c.get('principal');
    const home = homeLog(principal);
    const answer: { refused: LateRefusal | null } = { refused: null };
    const recordIn = async (log: string): Promise<void> => {
      let result = await this.append(log, draft);
      if (isLateRefusal(result)) {
        // A replayed token or a revoked key: whatever the handler produced is withheld; the refusal is what gets recorded.
        answer.refused = result.rejected;
        result = await this.append(log, { ...this.draft('denied', result.rejected === 'replay' ? 'token_replayed' : 'token_key_unknown'), status: 401 });
      }
      if (!result.ok) throw new Error(result.message);
    };
    const elsewhere = async (): Promise<void> => {
      const result = isOutsider(principal, this.log)
        ? await auditLogOf(this.c.env, this.log).appendRefusal(this.log, draft)
        : await appendToLog(this.c.env, this.log, draft);
      if (!result.ok) throw new Error(result.message);
      if (!home) this.recorded = 'window' in result ? { log: result.log, window: result.window } : { log: result.log, index: result.auditIndex };
    };
    if (draft.outcome === 'allowed' || home === this.log) await recordIn(this.log);
    else await Promise.all([home ? recordIn(home) : null, elsewhere()]);
    return answer;
  }
}
