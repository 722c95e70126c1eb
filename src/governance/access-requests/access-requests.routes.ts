/**
 * Provider access requests (docs/design.md §7), a customer lockbox: an operator asks
 * to act on a tenant's VM beyond provisioning, with a reason from a fixed
 * catalogue; the tenant's policy or its owner decides; an approval covers that
 * VM and operation until it expires, and every use is in the tenant's log.
 * Break-glass and sealed legal requests are decided by a second `security`
 * admin instead. Nothing here yields plaintext.
 */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { adminRoute, tenantRoute } from '../../http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { ACCESS_OPERATIONS, MAX_ACCESS_MINUTES, MAX_BREAK_GLASS_MINUTES, MAX_SEAL_DAYS, REASON_CODES } from './access-requests.service';
import { Name } from '../../provider/hosts/hosts.schemas';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import { VmId } from '../../provider/vms/vms.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { AccessRequestView } from './access-requests.service';

const tags = ['access requests'];

const AccessRequestId = z
  .string()
  .regex(/^acc_[0-9A-Z]{26}$/)
  .openapi({ example: 'acc_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
const RequestParam = AccessRequestId.openapi({ param: { name: 'request', in: 'path' } });
const States = z.enum(['pending', 'approved', 'denied']);

const AccessRequestSchema = z
  .object({
    id: AccessRequestId,
    tenant: TenantId,
    vm: VmId,
    operation: z.enum(ACCESS_OPERATIONS),
    reasonCode: z.enum(REASON_CODES),
    detail: z.string(),
    durationMinutes: z.number().int(),
    requester: z.string(),
    state: States,
    decidedBy: z.string().nullable().openapi({
      description: '`tenant` (its owner), `policy` (its access policy, at once), or the second `security` admin who decided a break-glass or sealed request.',
    }),
    breakGlass: z
      .boolean()
      .openapi({ description: "Proceeds on two `security` admins' word, without the tenant: at most 4 h, in the tenant's log as such, alerting it at once." }),
    sealUntil: z
      .string()
      .nullable()
      .openapi({ description: "A sealed `legal_request`: its use reaches the tenant's log as a sealed record, revealed by this instant." }),
    revealedAt: z.string().nullable().openapi({ description: "When a sealed request was revealed into the tenant's log." }),
    validUntil: z.string().nullable().openapi({ description: 'Until when an approval may be used.' }),
    uses: z.number().int(),
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('AccessRequest');
const AccessRequestListSchema = z.object({ accessRequests: z.array(AccessRequestSchema), nextPageToken: nextPageTokenSchema }).openapi('AccessRequestList');
const ListQuery = PageQuerySchema.extend({ state: States.optional() });

export const fileAccessRequest = adminRoute({
  operationId: 'fileAccessRequest',
  action: 'access.request',
  problems: ['not_found', 'invalid_request'],
  method: 'post',
  path: '/admin/access-requests',
  tags,
  summary: 'Ask a tenant for access to one of its VMs',
  description:
    "The tenant's access policy for the reason decides at once (`denied`, or `approved` for at most its minutes) or leaves it `pending` for the owner. `breakGlass` (a `security` admin, at most 4 h) and `sealUntil` (a `legal_request`, at most 180 days) skip the tenant: a second `security` admin decides (`:approve`). A break-glass request cannot be sealed.",
  roles: ['operator', 'security'],
  request: {
    headers: IdempotencyHeaders,
    body: jsonRequestBody(
      z
        .strictObject({
          vm: VmId,
          operation: z.enum(ACCESS_OPERATIONS),
          reasonCode: z.enum(REASON_CODES),
          detail: z.string().min(1).max(1000),
          durationMinutes: z.number().int().min(1).max(MAX_ACCESS_MINUTES).default(60),
          breakGlass: z
            .boolean()
            .optional()
            .openapi({
              description: `An emergency access without the tenant's approval: a \`security\` admin files, another approves; at most ${MAX_BREAK_GLASS_MINUTES} minutes.`,
            }),
          sealUntil: z.iso
            .datetime({ offset: true })
            .optional()
            .openapi({ description: `A \`legal_request\` the provider may not reveal yet: sealed until this instant (at most ${MAX_SEAL_DAYS} days ahead).` }),
        })
        .openapi('FileAccessRequest'),
    ),
  },
  responses: { 201: { ...jsonContent(AccessRequestSchema, 'Filed; the tenant decides.'), headers: z.object({ Location: z.string() }) } },
});

export const listAccessRequests = adminRoute({
  operationId: 'listAccessRequests',
  action: 'access.list',
  method: 'get',
  path: '/admin/access-requests',
  tags,
  summary: 'List access requests, newest first',
  roles: ['operator', 'auditor', 'security'],
  request: { query: ListQuery.extend({ tenant: z.string().max(64).optional() }) },
  responses: { 200: jsonContent(AccessRequestListSchema, 'One page.') },
});

export const getAccessRequest = adminRoute({
  operationId: 'getAccessRequest',
  action: 'access.read',
  problems: ['not_found'],
  method: 'get',
  path: '/admin/access-requests/{request}',
  tags,
  summary: 'Fetch an access request',
  roles: ['operator', 'auditor', 'security'],
  request: { params: z.object({ request: RequestParam }) },
  responses: { 200: jsonContent(AccessRequestSchema, 'The request.') },
});

export const useAccessRequest = adminRoute({
  operationId: 'useAccessRequest',
  action: 'access.use',
  problems: ['not_found', 'access_not_approved', 'invalid_state'],
  method: 'post',
  path: '/admin/access-requests/{request}:use',
  tags,
  summary: 'Do what an approved access request allows, once more',
  description:
    "For `snapshot.create`: takes a snapshot of the VM by reference to its current versions, server-side — nothing is decrypted, nothing is returned but the snapshot's id and size. The use is recorded in the tenant's log (and the provider's) — for a sealed request, in the provider's, with a sealed record in the tenant's in the same batch; 403 `access_not_approved` unless the request was approved and the approval has not expired.",
  roles: ['operator', 'security'],
  request: {
    params: z.object({ request: RequestParam }),
    headers: IdempotencyHeaders,
    body: jsonRequestBody(z.strictObject({ name: Name.openapi({ description: "The snapshot's name." }) }).openapi('UseAccessRequest')),
  },
  responses: {
    200: jsonContent(
      z
        .object({
          accessRequest: AccessRequestSchema,
          snapshot: z.object({ id: z.string(), vm: VmId, name: z.string(), pages: z.number().int(), createdAt: z.string() }),
        })
        .openapi('AccessUse'),
      'Done.',
    ),
  },
});

const AdminRequestParams = z.object({ request: RequestParam });

export const approveAsSecondAdmin = adminRoute({
  operationId: 'approveAccessRequestAsAdmin',
  action: 'access.approve',
  problems: ['not_found', 'invalid_state', 'self_approval'],
  method: 'post',
  path: '/admin/access-requests/{request}:approve',
  tags,
  summary: 'Approve a break-glass or sealed request: the second `security` admin',
  description:
    "Only break-glass and sealed requests (the tenant decides the others); never by the admin who filed it. A break-glass approval reaches the tenant's log, and its alerts, at once.",
  roles: ['security'],
  request: { params: AdminRequestParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(AccessRequestSchema, 'Approved.') },
});

export const denyAsSecondAdmin = adminRoute({
  operationId: 'denyAccessRequestAsAdmin',
  action: 'access.deny',
  problems: ['not_found', 'invalid_state', 'self_approval'],
  method: 'post',
  path: '/admin/access-requests/{request}:deny',
  tags,
  summary: 'Deny a break-glass or sealed request: the second `security` admin',
  roles: ['security'],
  request: { params: AdminRequestParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(AccessRequestSchema, 'Denied.') },
});

export const unsealAccessRequest = adminRoute({
  operationId: 'revealAccessRequest',
  action: 'access.unseal',
  problems: ['not_found', 'invalid_state'],
  method: 'post',
  path: '/admin/access-requests/{request}:reveal',
  tags,
  summary: 'Reveal a sealed request to its tenant now (before its date)',
  description:
    "Appends to the tenant's log, for each sealed record of the request, the record it hid; the tenant's verifier checks each against its commitment. Past its date a seal is revealed without asking, at the next read of the tenant's log or by the cron sweep.",
  roles: ['security'],
  request: { params: AdminRequestParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(z.object({ accessRequest: AccessRequestSchema, revealed: z.number().int() }).openapi('AccessReveal'), 'Revealed.') },
});

const TenantRequestParams = TenantParams.extend({ request: RequestParam });

export const tenantAccessRequests = tenantRoute({
  operationId: 'listTenantAccessRequests',
  action: 'access.list',
  method: 'get',
  path: '/tenants/{tenant}/access-requests',
  tags,
  summary: "The provider's requests for access to your VMs",
  scope: 'owner',
  request: { params: TenantParams, query: ListQuery },
  responses: { 200: jsonContent(AccessRequestListSchema, 'One page, newest first.') },
});

export const tenantAccessRequest = tenantRoute({
  operationId: 'getTenantAccessRequest',
  action: 'access.read',
  method: 'get',
  path: '/tenants/{tenant}/access-requests/{request}',
  tags,
  summary: 'Fetch an access request',
  scope: 'owner',
  request: { params: TenantRequestParams },
  responses: { 200: jsonContent(AccessRequestSchema, 'The request.') },
});

export const approveAccessRequest = tenantRoute({
  operationId: 'approveAccessRequest',
  action: 'access.approve',
  problems: ['invalid_state'],
  method: 'post',
  path: '/tenants/{tenant}/access-requests/{request}:approve',
  tags,
  summary: 'Approve: that VM and operation, until the requested duration runs out',
  scope: 'owner',
  request: { params: TenantRequestParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(AccessRequestSchema, 'Approved.') },
});

export const denyAccessRequest = tenantRoute({
  operationId: 'denyAccessRequest',
  action: 'access.deny',
  problems: ['invalid_state'],
  method: 'post',
  path: '/tenants/{tenant}/access-requests/{request}:deny',
  tags,
  summary: 'Deny an access request',
  scope: 'owner',
  request: { params: TenantRequestParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(AccessRequestSchema, 'Denied.') },
});

/** The service's view is exactly what this schema documents (a compile-time check). */
export const accessRequestViewMatchesSchema: SameShape<AccessRequestView, typeof AccessRequestSchema> = true;
