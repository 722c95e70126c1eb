/**
 * `Server-Timing` (W3C Server Timing) on every response when the deployment
 * asks for it (`CUSTODES_SERVER_TIMING=on`, or emulator mode): token checks,
 * key lookups, rate limits, each part's D1 calls, the log sequencer's queue,
 * signing and batch, and the total. The bench reads it to say where an
 * audited request's time goes (bench/breakdown.ts); a deployment leaves it off,
 * since timings describe the server to anyone who can call it.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, Env } from '../../../env';
import { emulatorEnabled } from '../../emulator-mode';
import { RequestTimings, timedD1, type SequencerTimings } from './timings';

export { RequestTimings } from './timings';

export const serverTimingEnabled = (env: Env): boolean => env.CUSTODES_SERVER_TIMING === 'on' || emulatorEnabled(env);

export function serverTiming(): MiddlewareHandler<AppEnv> {
  return async function serverTimingMiddleware(c, next) {
    if (!serverTimingEnabled(c.env)) return next();
    const timings = new RequestTimings();
    c.set('timings', timings);
    // The request's bindings, timed: every part of the app that reaches them is measured where it runs.
    c.env = {
      ...c.env,
      DB: timedD1(c.env.DB, timings),
      AUDIT_LOG: timedSequencers(c.env.AUDIT_LOG, timings),
      ...(c.env.PRINCIPAL_RATE_LIMIT ? { PRINCIPAL_RATE_LIMIT: timedLimiter(c.env.PRINCIPAL_RATE_LIMIT, timings) } : {}),
      ...(c.env.ADDRESS_RATE_LIMIT ? { ADDRESS_RATE_LIMIT: timedLimiter(c.env.ADDRESS_RATE_LIMIT, timings) } : {}),
    };
    await next();
    c.res.headers.set('Server-Timing', timings.header());
  };
}

/** Marks where the request now is, so its D1 calls are counted to that part (`d1.<phase>`); nothing when timing is off. */
export const enterTimingPhase = (c: Context<AppEnv>, phase: string): void => {
  const timings = c.get('timings');
  if (timings) timings.phase = phase;
};

/** `work`, timed as span `name` when timing is on. */
export const timed = <T>(c: Context<AppEnv>, name: string, work: () => Promise<T>): Promise<T> => c.get('timings')?.time(name, work) ?? work();

/** `enterTimingPhase` as a route's middleware. */
export function timingPhase(phase: string): MiddlewareHandler<AppEnv> {
  return async function timingPhaseMiddleware(c, next) {
    enterTimingPhase(c, phase);
    return next();
  };
}

function timedLimiter(limiter: RateLimit, timings: RequestTimings): RateLimit {
  return { limit: (options) => timings.time('ratelimit', () => limiter.limit(options)) };
}

/** The sequencer stubs, their appends timed: the call as a whole, and inside it the queue, signing and batch the sequencer reports. */
function timedSequencers(namespace: Env['AUDIT_LOG'], timings: RequestTimings): Env['AUDIT_LOG'] {
  // The shape of an append's answer this needs, and no more: the audit log sits above this layer.
  const record = <R extends { ok: boolean; timings?: SequencerTimings }>(result: R): R => {
    if (result.ok && result.timings) {
      const { queue, sign, checkpoint, batch } = result.timings;
      timings.add('seq.queue', queue);
      timings.add('seq.sign', sign);
      timings.add('seq.checkpoint', checkpoint);
      timings.add('seq.batch', batch);
    }
    return result;
  };
  return new Proxy(namespace, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (property !== 'get') return typeof value === 'function' ? value.bind(target) : value;
      return (id: DurableObjectId) => {
        const stub = target.get(id);
        return new Proxy(stub, {
          get(s, name) {
            const member = Reflect.get(s, name);
            if (name !== 'append' && name !== 'appendRefusal') return member;
            return (...args: unknown[]) =>
              timings.time('sequencer', async () =>
                record(await Reflect.apply(member as (...a: unknown[]) => Promise<{ ok: boolean; timings?: SequencerTimings }>, s, args)),
              );
          },
        });
      };
    },
  });
}
