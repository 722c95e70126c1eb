/**
 * Provider admins (docs/design.md §2, §7). Registration and role changes are change
 * requests (202) a second enrolled `security` admin approves — except in the
 * bootstrap ceremony, when a bootstrap key enrols at once (201, 200); disabling
 * is immediate; re-enabling a retired bootstrap key is a change request.
 */
import { z } from '@hono/zod-openapi';
import { ADMIN_ROLES } from '../../auth/roles';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { adminRoute } from '../../http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { changeAccepted } from '../changes/changes.routes';
import { Name } from '../../provider/hosts/hosts.schemas';
import { PublicJwk } from '../../provider/tenants/tenants.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { AdminView } from './admins.service';
import { MAX_REENABLE_MINUTES } from './bootstrap-ceremony';

const tags = ['admins'];
const READERS = ['security', 'auditor'] as const;

const AdminId = z
  .string()
  .regex(/^adm_[0-9A-Za-z]{1,26}$/)
  .openapi({ example: 'adm_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
const AdminParams = z.object({ admin: AdminId.openapi({ param: { name: 'admin', in: 'path' } }) });
const Roles = z.array(z.enum(ADMIN_ROLES)).min(1).max(ADMIN_ROLES.length).openapi({ description: 'No role grants access to guest contents.' });

const AdminSchema = z
  .object({
    id: AdminId,
    name: z.string(),
    kid: z.string(),
    roles: z.array(z.enum(ADMIN_ROLES)),
    state: z.enum(['active', 'revoked', 'retired']).openapi({ description: '`retired`: a bootstrap key once two enrolled admins hold `security`.' }),
    bootstrap: z.boolean().openapi({ description: 'Configured in the deployment (env), not through the API: it only enrols the first admins.' }),
    reenabledUntil: z.string().nullable().openapi({ description: 'A retired bootstrap key re-enabled by a two-person change: until when.' }),
    revision: z.number().int(),
    createdAt: z.string().nullable(),
  })
  .openapi('Admin');
const AdminListSchema = z.object({ admins: z.array(AdminSchema), nextPageToken: nextPageTokenSchema }).openapi('AdminList');

export const registerAdmin = adminRoute({
  operationId: 'registerAdmin',
  action: 'admin.register',
  method: 'post',
  path: '/admin/admins',
  tags,
  summary: 'Propose a new admin (a second `security` admin approves)',
  description:
    'An enrolled `security` admin proposes (202, a change request another enrolled `security` admin approves). A bootstrap key, while the ceremony is open — fewer than two enrolled admins hold `security` — enrols at once (201); the enrolment that makes it two retires every bootstrap key.',
  roles: ['security'],
  bootstrap: true,
  problems: ['resource_in_use', 'bootstrap_retired'],
  request: { headers: IdempotencyHeaders, body: jsonRequestBody(z.strictObject({ name: Name, publicKey: PublicJwk, roles: Roles }).openapi('RegisterAdmin')) },
  responses: { 201: jsonContent(AdminSchema, 'Enrolled at once, by a bootstrap key in the ceremony.'), 202: changeAccepted },
});

export const listAdmins = adminRoute({
  operationId: 'listAdmins',
  action: 'admin.list',
  method: 'get',
  path: '/admin/admins',
  tags,
  summary: 'List admins (bootstrap admins first)',
  roles: [...READERS],
  bootstrap: true,
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(AdminListSchema, 'One page of admins.') },
});

export const getAdmin = adminRoute({
  operationId: 'getAdmin',
  action: 'admin.read',
  problems: ['not_found'],
  method: 'get',
  path: '/admin/admins/{admin}',
  tags,
  summary: 'Fetch an admin',
  roles: [...READERS],
  bootstrap: true,
  request: { params: AdminParams },
  responses: { 200: jsonContent(AdminSchema, 'The admin.') },
});

export const setAdminRoles = adminRoute({
  operationId: 'setAdminRoles',
  action: 'admin.roles',
  problems: ['not_found', 'invalid_state', 'bootstrap_retired'],
  method: 'patch',
  path: '/admin/admins/{admin}',
  tags,
  summary: 'Propose new roles for an admin (a second `security` admin approves)',
  description: 'A change request (202); a bootstrap key in the ceremony sets them at once (200).',
  roles: ['security'],
  bootstrap: true,
  request: { params: AdminParams, body: jsonRequestBody(z.strictObject({ roles: Roles }).openapi('SetAdminRoles')) },
  responses: { 200: jsonContent(AdminSchema, 'Set at once, by a bootstrap key in the ceremony.'), 202: changeAccepted },
});

export const reenableBootstrapAdmin = adminRoute({
  operationId: 'reenableBootstrapAdmin',
  action: 'bootstrap.reenable',
  problems: ['not_found', 'invalid_state'],
  method: 'post',
  path: '/admin/admins/{admin}:reenable',
  tags,
  summary: 'Propose re-enabling a retired bootstrap key for a while (a second `security` admin approves)',
  description: `A retired bootstrap key may enrol admins again, for at most ${MAX_REENABLE_MINUTES / 60} h, once a second enrolled \`security\` admin approves (for a lost admin key, say).`,
  roles: ['security'],
  request: {
    params: AdminParams,
    headers: IdempotencyHeaders,
    body: jsonRequestBody(z.strictObject({ minutes: z.number().int().min(1).max(MAX_REENABLE_MINUTES) }).openapi('ReenableBootstrapAdmin')),
  },
  responses: { 202: changeAccepted },
});

export const disableAdmin = adminRoute({
  operationId: 'disableAdmin',
  action: 'admin.disable',
  problems: ['not_found', 'invalid_state'],
  method: 'post',
  path: '/admin/admins/{admin}:disable',
  tags,
  summary: 'Disable an admin at once',
  description: "Takes power away, so no second admin is needed; the admin's next request is refused.",
  roles: ['security'],
  request: { params: AdminParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(AdminSchema, 'Disabled.') },
});

/** The service's view is exactly what this schema documents (a compile-time check). */
export const adminViewMatchesSchema: SameShape<AdminView, typeof AdminSchema> = true;
