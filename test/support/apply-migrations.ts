import { applyD1Migrations, env, reset } from 'cloudflare:test';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { beforeEach } from 'vitest';
import { ENROLLED_ADMIN_IDS } from './enrolled-admins';

const ALL_ROLES = JSON.stringify(['provisioner', 'operator', 'auditor', 'security']);
const enrolled = await Promise.all(
  (JSON.parse(env.TEST_ADMIN_PRIVATE_JWKS) as JWK[]).map(async ({ kty, crv, x }, i) => {
    const jwk = { kty, crv, x };
    return { id: ENROLLED_ADMIN_IDS[i]!, kid: await calculateJwkThumbprint(jwk, 'sha256'), jwk: JSON.stringify(jwk) };
  }),
);

// Every test starts from an empty, migrated database, so expectations about
// placement and lists can be exact — with two enrolled admins holding every
// role, as `npm start` and custodes/testing enrol them: the bootstrap ceremony
// is over (src/governance/admins/ceremony.test.ts undoes that to test it).
beforeEach(async () => {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  await env.DB.batch(
    enrolled.map(({ id, kid, jwk }) =>
      env.DB.prepare('INSERT OR REPLACE INTO admins (id, name, kid, jwk, roles) VALUES (?, ?, ?, ?, ?)').bind(id, id, kid, jwk, ALL_ROLES),
    ),
  );
});
