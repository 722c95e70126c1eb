/**
 * The emulator's controls belong to whoever started it (issue 29). They can
 * wipe every tenant, so:
 *  - every `/_emulator` call carries the instance's control token
 *    (`Authorization: Bearer …`: a secret the launcher made for this start,
 *    in `.custodes/emulator-token` under `npm start`, on the `startCustodes()`
 *    handle, sent by `custodes emulator …`). A web page cannot send it: a
 *    cross-origin "simple" request carries no Authorization header;
 *  - a request with an `Origin` other than the emulator's own is refused
 *    (a browser always names the page that sent it);
 *  - in emulator mode every request must name this machine (or a host the
 *    launcher allowed) in `Host`: a DNS-rebound name is refused (RFC 9110
 *    §15.5.20, 421 Misdirected Request).
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Env } from '../env';
import { problemResponse } from '../platform/http/problem';
import { emulatorEnabled } from '../platform/emulator-mode';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The hosts this instance answers to: loopback, and those the launcher allowed (`CUSTODES_ALLOWED_HOSTS`). */
function allowedHost(env: Env, host: string): boolean {
  const name = host.replace(/:\d+$/, '').toLowerCase();
  if (LOOPBACK_NAMES.has(name)) return true;
  return (env.CUSTODES_ALLOWED_HOSTS ?? '').split(',').some((allowed) => allowed.trim().toLowerCase() === name);
}

/** Equal without telling, by timing, how much of a guess was right. */
function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i % Math.max(1, a.length)] ?? 0) ^ b[i]!;
  return difference === 0;
}

/** Emulator mode: `Host` must name this machine. */
export function emulatorHostCheck(): MiddlewareHandler<AppEnv> {
  return async function emulatorHostCheckMiddleware(c, next) {
    if (!emulatorEnabled(c.env)) return next();
    const host = c.req.header('Host') ?? new URL(c.req.url).host;
    if (!allowedHost(c.env, host)) {
      return problemResponse(
        c,
        'host_not_allowed',
        `This emulator answers to 127.0.0.1 and localhost${c.env.CUSTODES_ALLOWED_HOSTS ? ` and ${c.env.CUSTODES_ALLOWED_HOSTS}` : ''}, not to ${host.slice(0, 255)}.`,
      );
    }
    return next();
  };
}

/** `/_emulator`: the control token, and no foreign Origin. */
export function emulatorControlGuard(): MiddlewareHandler<AppEnv> {
  return async function emulatorControlGuardMiddleware(c, next) {
    const origin = c.req.header('Origin');
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      return problemResponse(c, 'origin_not_allowed', "The emulator's controls do not answer web pages of other origins.");
    }
    const expected = c.env.EMULATOR_CONTROL_TOKEN;
    if (!expected)
      return problemResponse(
        c,
        'control_token_invalid',
        'This emulator was started without a control token (EMULATOR_CONTROL_TOKEN), so its controls are closed; start it with `npm start` or `startCustodes()`.',
      );
    const given = /^Bearer (\S+)$/i.exec(c.req.header('Authorization') ?? '')?.[1];
    if (!given)
      return problemResponse(
        c,
        'control_token_missing',
        "The emulator's controls need its control token: `Authorization: Bearer <token>` (npm start writes it to .custodes/emulator-token; startCustodes() returns it as controlToken).",
        undefined,
        { 'WWW-Authenticate': 'Bearer realm="custodes-emulator"' },
      );
    if (!sameSecret(given, expected))
      return problemResponse(c, 'control_token_invalid', "That is not this emulator's control token (each start makes a new one).", undefined, {
        'WWW-Authenticate': 'Bearer realm="custodes-emulator", error="invalid_token"',
      });
    return next();
  };
}
