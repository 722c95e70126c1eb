import { changeAccepted } from '../../governance/changes/changes.routes';
import { z } from '@hono/zod-openapi';
import { METADATA_READERS } from '../../auth/roles';
import { ETagHeader, IdempotencyHeaders, IfMatchHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { adminRoute } from '../../http/route-factories';
import { PageQuerySchema } from '../../platform/http/pagination';
import { CreateTenantBody, PatchTenantBody, TenantListSchema, TenantParams, TenantSchema } from './tenants.schemas';

const tags = ['tenants'];

export const createTenant = adminRoute({
  operationId: 'createTenant',
  action: 'tenant.create',
  problems: ['name_taken', 'resource_in_use'],
  method: 'post',
  path: '/admin/tenants',
  tags,
  summary: 'Create a tenant with its owner key and quota slice',
  roles: ['provisioner'],
  request: { headers: IdempotencyHeaders, body: jsonRequestBody(CreateTenantBody) },
  responses: {
    201: { ...jsonContent(TenantSchema, 'The new tenant.'), headers: z.object({ ETag: ETagHeader, Location: z.string() }) },
  },
});

export const listTenants = adminRoute({
  operationId: 'listTenants',
  action: 'tenant.list',
  method: 'get',
  path: '/admin/tenants',
  tags,
  summary: 'List tenants',
  roles: METADATA_READERS,
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(TenantListSchema, 'One page of tenants, oldest first.') },
});

export const getTenant = adminRoute({
  operationId: 'getTenant',
  action: 'tenant.read',
  problems: ['not_found'],
  method: 'get',
  path: '/admin/tenants/{tenant}',
  tags,
  summary: 'Get a tenant, its quota and usage',
  roles: METADATA_READERS,
  request: { params: TenantParams },
  responses: {
    200: { ...jsonContent(TenantSchema, 'The tenant.'), headers: z.object({ ETag: ETagHeader }) },
  },
});

export const patchTenant = adminRoute({
  operationId: 'patchTenant',
  action: 'tenant.update',
  problems: ['not_found', 'precondition_failed', 'capacity_conflict', 'name_taken'],
  method: 'patch',
  path: '/admin/tenants/{tenant}',
  tags,
  summary: 'Rename a tenant or change its quota',
  description: 'A quota below what the tenant uses is significant (the two-person rule): it answers 202 with a change request a second `provisioner` approves.',
  roles: ['provisioner'],
  request: { params: TenantParams, headers: IfMatchHeaders, body: jsonRequestBody(PatchTenantBody) },
  responses: {
    200: { ...jsonContent(TenantSchema, 'The updated tenant.'), headers: z.object({ ETag: ETagHeader }) },
    202: changeAccepted,
  },
});

export const deleteTenant = adminRoute({
  operationId: 'deleteTenant',
  action: 'tenant.delete',
  problems: ['not_found', 'precondition_failed', 'resource_in_use'],
  method: 'delete',
  path: '/admin/tenants/{tenant}',
  tags,
  summary: 'Propose deleting a tenant (a second `provisioner` approves)',
  description:
    'Significant (the two-person rule): answers 202 with a change request. On approval the tenant is deleted if it still has no VMs or disks and has not changed since.',
  roles: ['provisioner'],
  request: { params: TenantParams, headers: IfMatchHeaders },
  responses: { 202: changeAccepted },
});
