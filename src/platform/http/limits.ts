/**
 * Bounds on everything a request can put into a record or make the server
 * hold (docs/decisions.md, "Bounded tokens and records"; the README's
 * conventions table). A record is signed and kept forever, in a log its
 * tenant pays attention to: no caller may make one arbitrarily large.
 */
import type { Context } from 'hono';
import type { Env } from '../../env';
import { emulatorEnabled } from '../emulator-mode';
import { parseAddress } from '../../lib/ip-address';

/** Largest bearer token (the whole compact JWS), in characters. RFC 8725 §3.1 leaves it to us; 4 KiB is ample for our claims. */
export const MAX_TOKEN_CHARS = 4096;
/** `jti` and `sid`: 1–128 characters of the URL-safe alphabet (RFC 3986 unreserved, plus `:`). */
export const CLAIM_ID = /^[A-Za-z0-9._~:-]{1,128}$/;
/** `vms` claim: at most this many VM ids. */
export const MAX_TOKEN_VMS = 64;
/** `scope` claim, in characters. */
export const MAX_SCOPE_CHARS = 512;
/** Request paths, in characters (414 beyond). */
export const MAX_PATH_CHARS = 2048;
/** Path parameters recorded as a record's target. */
export const MAX_RECORDED_ID_CHARS = 128;
/** Client addresses recorded in `actor.ip`. */
const MAX_ADDRESS_CHARS = 64;

/** `text`, cut to `max` characters (the last one an ellipsis) when longer. */
export const bounded = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * The client's address, only from where the platform sets it. Deployed,
 * Cloudflare's edge sets `CF-Connecting-IP` and overwrites any a client sent;
 * it is kept only when it is an IP address. Under the emulator (npm start,
 * startCustodes) a client can send the header itself, so it is never read:
 * the emulator listens on loopback, so the client is this machine — unless it
 * was bound beyond loopback on purpose, and then the address is unknown.
 */
export const clientAddress = (c: Pick<Context<{ Bindings: Env }>, 'env' | 'req'>): string | null => {
  if (emulatorEnabled(c.env)) return c.env.CUSTODES_EXPOSED === 'on' ? null : '127.0.0.1';
  const address = c.req.header('CF-Connecting-IP')?.trim();
  return address && address.length <= MAX_ADDRESS_CHARS && parseAddress(address) ? address : null;
};
