/**
 * Change requests (docs/design.md §7): the two-person rule. Significant admin
 * operations answer 202 with one of these; a second admin with the role it
 * needs approves it, and it executes exactly once.
 */
import { z } from '@hono/zod-openapi';
import { ADMIN_ROLES } from '../../auth/roles';
import { IdempotencyHeaders, jsonContent } from '../../platform/http/responses';
import { adminRoute } from '../../http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { CHANGE_OPERATIONS, CHANGE_STATES } from './two-person-rule';
import type { SameShape } from '../../platform/http/responses';
import type { ChangeView } from './two-person-rule';

const tags = ['changes'];
/** Every admin may see and act on change requests; who may approve which is the request's own `requiredRole`. */
const EVERY_ROLE = [...ADMIN_ROLES];

export const ChangeId = z
  .string()
  .regex(/^chg_[0-9A-Z]{26}$/)
  .openapi({ example: 'chg_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
const ChangeParams = z.object({ change: ChangeId.openapi({ param: { name: 'change', in: 'path' } }) });

export const ChangeRequestSchema = z
  .object({
    id: ChangeId,
    operation: z.enum(CHANGE_OPERATIONS),
    target: z.object({ type: z.string(), id: z.string() }),
    tenants: z.array(z.string()).openapi({ description: 'Tenants the change touches; each sees every step of it in its own audit log.' }),
    params: z.any().openapi({ description: "The operation's arguments, as proposed." }),
    requiredRole: z.enum(ADMIN_ROLES).openapi({ description: 'The role the approving admin must hold.' }),
    proposer: z.string(),
    approvals: z.array(z.object({ admin: z.string(), at: z.string() })),
    state: z.enum(CHANGE_STATES),
    decidedBy: z.string().nullable().openapi({ description: 'Who denied or cancelled it.' }),
    failure: z.object({ code: z.string(), detail: z.string() }).nullable().openapi({ description: 'Why execution failed (e.g. `target_changed`).' }),
    targetRevision: z.number().int().nullable().openapi({ description: "The target's revision when proposed: if it moves, execution fails cleanly." }),
    expiresAt: z.string(),
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('ChangeRequest');

/** The 202 answer of a significant operation (declare it as `202: changeAccepted`). */
export const changeAccepted = {
  ...jsonContent(ChangeRequestSchema, 'Significant: a pending change request that a second admin must approve (`POST /v1/admin/changes/{id}:approve`).'),
  headers: z.object({ Location: z.string() }),
};

const ChangeListSchema = z.object({ changes: z.array(ChangeRequestSchema), nextPageToken: nextPageTokenSchema }).openapi('ChangeRequestList');
const ApprovedSchema = z
  .object({ change: ChangeRequestSchema, result: z.any().openapi({ description: 'What the operation returned.' }) })
  .openapi('ChangeApproval');

export const listChanges = adminRoute({
  operationId: 'listChanges',
  action: 'change.list',
  method: 'get',
  path: '/admin/changes',
  tags,
  summary: 'List change requests, newest first',
  roles: EVERY_ROLE,
  request: {
    query: PageQuerySchema.extend({
      state: z.enum(CHANGE_STATES).optional().openapi({ description: 'Only requests in this state (`expired`: pending past its deadline).' }),
      tenant: z.string().max(64).optional().openapi({ description: 'Only requests touching this tenant.' }),
    }),
  },
  responses: { 200: jsonContent(ChangeListSchema, 'One page of change requests.') },
});

export const getChange = adminRoute({
  operationId: 'getChange',
  action: 'change.read',
  problems: ['not_found'],
  method: 'get',
  path: '/admin/changes/{change}',
  tags,
  summary: 'Fetch a change request',
  roles: EVERY_ROLE,
  request: { params: ChangeParams },
  responses: { 200: jsonContent(ChangeRequestSchema, 'The change request.') },
});

export const approveChange = adminRoute({
  operationId: 'approveChange',
  action: 'change.approve',
  problems: ['not_found', 'self_approval', 'missing_role', 'invalid_state', 'change_expired', 'change_failed'],
  method: 'post',
  path: '/admin/changes/{change}:approve',
  tags,
  summary: 'Approve a change request: it executes, exactly once',
  description:
    "By an admin other than the proposer holding the request's `requiredRole` (403 `self_approval`, 403 `missing_role`). A request no longer pending is 409 `invalid_state`; past its deadline 409 `change_expired`; one whose target changed since it was proposed, or whose operation is refused, is marked `failed` and answered 409 `change_failed`.",
  roles: EVERY_ROLE,
  request: { params: ChangeParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(ApprovedSchema, 'Executed.') },
});

export const denyChange = adminRoute({
  operationId: 'denyChange',
  action: 'change.deny',
  problems: ['not_found', 'self_approval', 'missing_role', 'invalid_state', 'change_expired'],
  method: 'post',
  path: '/admin/changes/{change}:deny',
  tags,
  summary: 'Deny a change request',
  description: "By an admin other than the proposer holding the request's `requiredRole`.",
  roles: EVERY_ROLE,
  request: { params: ChangeParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(ChangeRequestSchema, 'Denied.') },
});

export const cancelChange = adminRoute({
  operationId: 'cancelChange',
  action: 'change.cancel',
  problems: ['not_found', 'not_proposer', 'invalid_state', 'change_expired'],
  method: 'post',
  path: '/admin/changes/{change}:cancel',
  tags,
  summary: 'Cancel your own change request',
  roles: EVERY_ROLE,
  request: { params: ChangeParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(ChangeRequestSchema, 'Cancelled.') },
});

/** The service's view is exactly what this schema documents (a compile-time check). */
export const changeViewMatchesSchema: SameShape<ChangeView, typeof ChangeRequestSchema> = true;
