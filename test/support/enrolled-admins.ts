/** The two admins every workerd test starts with (test/support/apply-migrations.ts), enrolled with every role. */
export const ENROLLED_ADMIN_IDS = ['adm_alice', 'adm_bob'] as const;
