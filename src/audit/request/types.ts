/**
 * What a route and its handler see of the request's audit (`c.get('audit')`):
 * an interface, so the app's context types depend on no implementation.
 */
import type { AuditedAction } from '../actions';
import type { Commit, WriteStatement } from '../log/commit';
import type { Region, Target } from '../format/record';

declare module '../../env' {
  interface AppVariables {
    /** This request's audit record, being drafted (audit/request). */
    audit: RequestAudit;
  }
}

/** Where a request's record went: a place in a log, or the window of a summary that counts it. */
export type Recorded = { log: string; index: number } | { log: string; window: number };

export interface RequestAudit {
  /** Set by the route (audit/request/middleware.ts `auditScope`). */
  action: AuditedAction;
  target: Target | null;
  /** The log the request names (audit/request/log-routing.ts). */
  log: string;
  /** Regions a read returned: content routes set it before responding, and the record lists them. */
  regions: Region[] | null;
  /** Set once the request's record is in a log (or counted into a refusal summary). */
  readonly recorded: Recorded | null;
  /** Whether the handler's commit landed, and with it the statements given to `alsoOnCommit`. */
  readonly committed: boolean;
  /** Commits writes together with the request's record (outcome `allowed`); at most once. */
  readonly commit: Commit;
  /**
   * Statements the request's commit runs too, whatever the handler writes:
   * the idempotency middleware marks its key committed in the same batch.
   */
  alsoOnCommit(writes: WriteStatement[]): void;
}
