/**
 * The one seam through which a stand-in for the platform acts on a request:
 * the emulator (src/emulator/middleware.ts), which injects faults a real
 * platform would have — latency, an error answer, a D1 batch that fails, a
 * crash right after a commit, a dishonest answer. It is installed per request
 * by the emulator's middleware, only in emulator mode; in a deployment
 * nothing sets it, and every call site is a no-op.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';

export interface RequestHooks {
  /** Around each API route, inside its audit scope and before authentication: may answer for the route, delay it, or rewrite its answer. */
  aroundRoute: MiddlewareHandler<AppEnv>;
  /** Effects added to each of this request's audit appends (the log's sequencer extensions read them). */
  readonly appendEffects: object;
  /** Right after the request's record committed, before its notices; may throw (an emulated crash). */
  afterCommit(): void;
}

declare module '../env' {
  interface AppVariables {
    /** Set only by a stand-in for the platform (the emulator); absent in a deployment. */
    hooks?: RequestHooks;
  }
}

/** Each route's call into the hooks (http/route-factories.ts): nothing, unless a stand-in installed some. */
export function routeHooks(): MiddlewareHandler<AppEnv> {
  return async function routeHooksMiddleware(c, next) {
    const hooks = c.get('hooks');
    return hooks ? hooks.aroundRoute(c, next) : next();
  };
}
