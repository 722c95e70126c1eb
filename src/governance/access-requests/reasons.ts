/**
 * Why a provider may reach a tenant's VM: the fixed catalogue (docs/design.md §7)
 * that requests name and tenants' policies decide on, and the time limits.
 */
export const REASON_CODES = ['customer_support', 'provider_review', 'incident_response', 'third_party_request', 'maintenance', 'legal_request'] as const;
export type ReasonCode = (typeof REASON_CODES)[number];
/** The longest an approval lasts. */
export const MAX_ACCESS_MINUTES = 24 * 60;
