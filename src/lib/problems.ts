/**
 * The catalogue of error codes. RFC 9457 problem details: `type` is a stable
 * URN per code, `title` never varies for a code, `detail` explains this
 * occurrence. Clients switch on `code`; it is part of the API contract, so a
 * code is never renamed, only added.
 */
export const PROBLEMS = {
  // 400 — the request itself is wrong
  invalid_request: { status: 400, title: 'The request does not match the schema' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  body_not_allowed: { status: 400, title: 'This operation takes no request body' },
  invalid_page_token: { status: 400, title: 'The page token is not valid for this list' },
  invalid_idempotency_key: { status: 400, title: 'The Idempotency-Key header is not valid' },
  invalid_envelope: { status: 400, title: 'An envelope does not have the shape of docs/design.md §4' },
  index_out_of_range: { status: 400, title: 'A page or block index is outside the resource' },
  // 401 — who are you?
  token_missing: { status: 401, title: 'A bearer token is required' },
  token_malformed: { status: 401, title: 'The bearer token is not a compact JWS' },
  token_algorithm_not_allowed: { status: 401, title: 'The token algorithm is not allowed' },
  token_key_unknown: { status: 401, title: 'The token key id is not registered' },
  token_signature_invalid: { status: 401, title: 'The token signature does not verify' },
  token_expired: { status: 401, title: 'The token has expired' },
  token_not_yet_valid: { status: 401, title: 'The token is not yet valid' },
  token_lifetime_too_long: { status: 401, title: 'The token lifetime exceeds the maximum' },
  token_audience_invalid: { status: 401, title: 'The token audience is not this API' },
  token_claims_invalid: { status: 401, title: 'The token claims are invalid' },
  token_replayed: { status: 401, title: 'The token has already been used' },
  token_scope_exceeds_ceiling: { status: 401, title: 'The token asks for more than its toolstack may have' },
  token_too_large: { status: 401, title: 'The bearer token is larger than allowed' },
  control_token_missing: { status: 401, title: "The emulator's controls need its control token" },
  control_token_invalid: { status: 401, title: "The control token is not this emulator's" },
  // 403 — you may not
  bootstrap_retired: { status: 403, title: 'Bootstrap keys are retired' },
  bootstrap_limited: { status: 403, title: 'A bootstrap key only enrols the first admins' },
  missing_role: { status: 403, title: 'The principal lacks the required role' },
  principal_type_not_allowed: { status: 403, title: 'This principal type may not use this route' },
  missing_scope: { status: 403, title: 'The token lacks the required scope' },
  vm_not_allowed: { status: 403, title: 'The token is limited to other VMs' },
  self_approval: { status: 403, title: 'A change request needs an admin other than its proposer' },
  not_proposer: { status: 403, title: 'Only the proposer may cancel a change request' },
  access_not_approved: { status: 403, title: 'No valid tenant approval covers this access' },
  origin_not_allowed: { status: 403, title: 'This origin may not call the API from a browser' },
  exceeds_own_ceiling: { status: 403, title: 'A toolstack may grant or touch only what its own ceiling holds' },
  // 404 / 405 / 421
  not_found: { status: 404, title: 'The resource does not exist' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'The method is not allowed on this route' },
  host_not_allowed: { status: 421, title: 'This server does not answer to that host name' },
  // 409 — the state of the world says no
  name_taken: { status: 409, title: 'The name is already in use' },
  no_capacity: { status: 409, title: 'No host has room for this request' },
  quota_exceeded: { status: 409, title: 'The tenant quota does not allow this' },
  capacity_conflict: { status: 409, title: 'The change conflicts with current allocations' },
  resource_in_use: { status: 409, title: 'The resource still has dependents' },
  invalid_state: { status: 409, title: 'The resource is not in a state that allows this' },
  plan_stale: { status: 409, title: 'Pages the recovery plan changes have moved since it was made' },
  change_expired: { status: 409, title: 'The change request expired before it was approved' },
  change_failed: { status: 409, title: 'The approved change could not be executed' },
  idempotency_key_in_use: { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  idempotency_response_lost: { status: 409, title: 'The request with this Idempotency-Key was carried out, but its response was lost' },
  not_cosigned: { status: 409, title: 'No checkpoint of this log carries that many witness cosignatures yet' },
  state_too_new: { status: 409, title: 'The state file was written by a newer Custodes' },
  state_key_mismatch: { status: 409, title: "The state file's logs are signed by another audit key" },
  // 412 / 413 / 415 / 422
  precondition_failed: { status: 412, title: 'The resource has changed since it was read' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  uri_too_long: { status: 414, title: 'The request path is too long' },
  unsupported_media_type: { status: 415, title: 'The operation does not take a body of this media type' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used with a different request' },
  seed_failed: { status: 422, title: 'A step of the emulator fixture was refused' },
  state_unreadable: { status: 422, title: 'This is not a Custodes emulator state file' },
  seeds_match_nothing: { status: 422, title: "The recovery plan's seeds name no action in the log" },
  rate_limited: { status: 429, title: 'Too many requests; slow down' },
  stream_limit_reached: { status: 429, title: 'Too many live streams are open' },
  // 5xx
  internal_error: { status: 500, title: 'Internal error' },
  audit_unavailable: { status: 503, title: 'The audit log is unavailable' },
  service_unavailable: { status: 503, title: 'The service is unavailable; retry later' },
  schema_pending: { status: 503, title: 'The database schema is still being applied; retry shortly' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/**
 * The detail of every "not there, or not yours" answer about a tenant's
 * resources. It names nothing the caller sent, so another tenant's id and a
 * made-up one get byte-identical answers (no ownership oracle).
 */
export const NOT_YOURS = 'The resource does not exist, or it is not yours.';

export const problemType = (code: ProblemCode): string => `urn:custodes:problem:${code}`;

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  requestId: string;
  instance?: string;
  [extension: string]: unknown;
}

export function problemDocument(code: ProblemCode, detail: string, requestId: string, extensions: Record<string, unknown> = {}): ProblemDocument {
  const { status, title } = PROBLEMS[code];
  return { ...extensions, type: problemType(code), title, status, detail, code, requestId };
}
