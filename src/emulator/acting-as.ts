/**
 * Requests the emulator's seed (src/emulator/seed.ts) sends through the app
 * on behalf of a registered principal — an admin, or a tenant owner whose
 * fixture gives only a public key — without a token. Only a Request object
 * created in this isolate and registered here can carry one, so nothing a
 * client sends can claim it; and only the emulator's request hooks
 * (./middleware.ts, emulator mode only) offer it to `authenticate`. The records of such requests name the principal, with session
 * `emulator:seed`, so a tenant's log says what was seeded.
 */
import type { Principal, RegisteredKey } from '../auth/principals';
import { TENANT_SCOPES } from '../auth/roles';
import { nowSeconds } from '../platform/clock';

export const SEED_SESSION = 'emulator:seed';

const actingAs = new WeakMap<Request, Principal>();

export function actAs(request: Request, key: RegisteredKey): Request {
  actingAs.set(request, { ...key, jti: `seed-${crypto.randomUUID()}`, sid: SEED_SESSION, scopes: [...TENANT_SCOPES], expiresAt: nowSeconds() + 300 });
  return request;
}

export const actingPrincipal = (request: Request): Principal | undefined => actingAs.get(request);
