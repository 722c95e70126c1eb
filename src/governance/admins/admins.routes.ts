/**
 * Provider admins (docs/design.md §2, §7). Registration and role changes are change
 * requests (202) a second `security` admin approves; disabling is immediate.
 */
import { z } from '@hono/zod-openapi';
import { ADMIN_ROLES } from '../../auth/roles';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { adminRoute } from '../../platform/http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { changeAccepted } from '../changes/changes.routes';
import { Name } from '../../provider/hosts/hosts.schemas';
import { PublicJwk } from '../../provider/tenants/tenants.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { AdminView } from './admins.service';

const tags = ['admins'];
const READERS = ['security', 'auditor'] as const;

const AdminId = z.string().regex(/^adm_[0-9A-Za-z]{1,26}$/).openapi({ example: 'adm_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
const AdminParams = z.object({ admin: AdminId.openapi({ param: { name: 'admin', in: 'path' } }) });
const Roles = z.array(z.enum(ADMIN_ROLES)).min(1).max(ADMIN_ROLES.length).openapi({ description: 'No role grants access to guest contents.' });

const AdminSchema = z
  .object({
    id: AdminId,
    name: z.string(),
    kid: z.string(),
    roles: z.array(z.enum(ADMIN_ROLES)),
    state: z.enum(['active', 'revoked']),
    bootstrap: z.boolean().openapi({ description: 'Configured in the deployment (env), not through the API.' }),
    revision: z.number().int(),
    createdAt: z.string().nullable(),
  })
  .openapi('Admin');
const AdminListSchema = z.object({ admins: z.array(AdminSchema), nextPageToken: nextPageTokenSchema }).openapi('AdminList');

export const registerAdmin = adminRoute({
  operationId: 'registerAdmin',
  action: 'admin.register',
  problems: ['resource_in_use'],
  method: 'post',
  path: '/admin/admins',
  tags,
  summary: 'Propose a new admin (a second `security` admin approves)',
  roles: ['security'],
  request: { headers: IdempotencyHeaders, body: jsonRequestBody(z.strictObject({ name: Name, publicKey: PublicJwk, roles: Roles }).openapi('RegisterAdmin')) },
  responses: { 202: changeAccepted },
});

export const listAdmins = adminRoute({
  operationId: 'listAdmins',
  action: 'admin.list',
  method: 'get',
  path: '/admin/admins',
  tags,
  summary: 'List admins (bootstrap admins first)',
  roles: [...READERS],
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
  request: { params: AdminParams },
  responses: { 200: jsonContent(AdminSchema, 'The admin.') },
});

export const setAdminRoles = adminRoute({
  operationId: 'setAdminRoles',
  action: 'admin.roles',
  problems: ['not_found', 'invalid_state'],
  method: 'patch',
  path: '/admin/admins/{admin}',
  tags,
  summary: 'Propose new roles for an admin (a second `security` admin approves)',
  roles: ['security'],
  request: { params: AdminParams, body: jsonRequestBody(z.strictObject({ roles: Roles }).openapi('SetAdminRoles')) },
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
  description: 'Takes power away, so no second admin is needed; the admin\'s next request is refused.',
  roles: ['security'],
  request: { params: AdminParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(AdminSchema, 'Disabled.') },
});

/** The service's view is exactly what this schema documents (a compile-time check). */
export const adminViewMatchesSchema: SameShape<AdminView, typeof AdminSchema> = true;
