/**
 * Two ready admins for a local instance (`npm start`, `startCustodes`),
 * enrolled through the bootstrap ceremony like any deployment's first admins
 * (docs/design.md §7, §8): the bootstrap key enrols them with every role, and
 * the second enrolment retires the bootstrap keys. The two-person rule then
 * works from the first minute, between two enrolled admins.
 */
import type { JWK } from 'jose';
import { createApiClient } from '../sdk/client.ts';
import { CustodesApiError } from '../sdk/errors.ts';
import { keyId, publicKeyOf } from '../sdk/keys.ts';
import { idFromKeyId } from '../lib/ids.ts';

export interface EnrolledAdmin {
  id: string;
  /** The private JWK: it stays with whoever started the instance. */
  key: JWK;
}

const EVERY_ROLE = ['provisioner', 'operator', 'auditor', 'security'] as const;

/** Whether `admin` is enrolled and active on the instance at `baseUrl` (asked with its own key). */
async function stillEnrolled(baseUrl: string, admin: EnrolledAdmin): Promise<boolean> {
  try {
    await createApiClient({ baseUrl, key: admin.key, principal: admin.id, retry: { retries: 0 } }).GET('/v1/admin/admins/{admin}', {
      params: { path: { admin: admin.id } },
    });
    return true;
  } catch (error) {
    if (error instanceof CustodesApiError && error.problem.status === 401) return false;
    throw error;
  }
}

/**
 * The two admins named `names`, signing with `keys`: those `known` (by id)
 * and still enrolled are kept; the others are enrolled now by the bootstrap
 * key, with every role.
 */
export async function enrolReadyAdmins(
  baseUrl: string,
  bootstrapKey: JWK,
  keys: readonly [JWK, JWK],
  known: readonly (string | undefined)[] = [],
  names: readonly [string, string] = ['admin', 'admin-2'],
  /** Whether the instance may already hold them (a persisted or imported state): a fresh one cannot, and the two look-ups are skipped. */
  mayExist = true,
): Promise<[EnrolledAdmin, EnrolledAdmin]> {
  const bootstrap = createApiClient({ baseUrl, key: bootstrapKey, principal: 'adm_bootstrap', retry: { retries: 0 } });
  const ready: EnrolledAdmin[] = [];
  for (const [i, key] of keys.entries()) {
    // A ceremony enrolment's id follows from its key (lib/ids.ts): a key enrolled before is found even without its id.
    const id = known[i] ?? idFromKeyId('adm', await keyId(key));
    if (mayExist && (await stillEnrolled(baseUrl, { id, key }))) {
      ready.push({ id, key });
      continue;
    }
    try {
      const { data } = await bootstrap.POST('/v1/admin/admins', { body: { name: names[i]!, publicKey: publicKeyOf(key) as never, roles: [...EVERY_ROLE] } });
      ready.push({ id: (data as { id: string }).id, key });
    } catch (error) {
      if (error instanceof CustodesApiError && error.problem.code === 'bootstrap_retired') {
        throw new Error(
          `cannot enrol admin "${names[i]}": this instance's bootstrap ceremony is over (two enrolled admins hold security) and its key is not one of them. Use the enrolled admins' keys, or start from a fresh state.`,
        );
      }
      throw error;
    }
  }
  return ready as [EnrolledAdmin, EnrolledAdmin];
}
