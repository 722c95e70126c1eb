/**
 * Services report expected failures as values, not exceptions (the style of
 * cloudflare/workers-oauth-provider): a route maps `error.code` to a problem
 * document, and anything thrown is a genuine bug that surfaces as a 500.
 */
import type { ProblemCode } from './problems';

export interface Failure<C extends ProblemCode = ProblemCode> {
  code: C;
  detail: string;
  /** Extra members for the problem document (RFC 9457 §3.2 extensions). */
  extensions?: Record<string, unknown>;
}

export type Result<T, C extends ProblemCode = ProblemCode> = { ok: true; value: T } | { ok: false; error: Failure<C> };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

export const fail = <C extends ProblemCode>(code: C, detail: string, extensions?: Record<string, unknown>): { ok: false; error: Failure<C> } => ({
  ok: false,
  error: { code, detail, extensions },
});

/** A lookup's answer: the value, or `not_found` with `detail`. */
export const found = <T>(value: T | null | undefined, detail: string): Result<T, 'not_found'> => (value ? ok(value) : fail('not_found', detail));
