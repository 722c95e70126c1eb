import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { PageQuerySchema } from '../../platform/http/pagination';
import { TenantParams } from '../../provider/tenants/tenants.schemas';
import { CreateToolstackBody, ToolstackListSchema, ToolstackParams, ToolstackSchema, UpdateToolstackBody } from './toolstacks.schemas';

const tags = ['toolstacks'];

export const createToolstack = tenantRoute({
  operationId: 'createToolstack',
  action: 'toolstack.create',
  method: 'post',
  path: '/tenants/{tenant}/toolstacks',
  tags,
  summary: 'Register a toolstack',
  description:
    "Registers a tenant-held key pair's public half with a scope ceiling. The private half never reaches the provider. A toolstack with `toolstacks` may register one whose ceiling is within its own (else 403 `exceeds_own_ceiling`).",
  problems: ['name_taken', 'resource_in_use', 'exceeds_own_ceiling'],
  scope: 'toolstacks',
  reach: 'tenant-wide',
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(CreateToolstackBody) },
  responses: {
    201: { ...jsonContent(ToolstackSchema, 'The registered toolstack.'), headers: z.object({ Location: z.string() }) },
  },
});

export const listToolstacks = tenantRoute({
  operationId: 'listToolstacks',
  action: 'toolstack.list',
  method: 'get',
  path: '/tenants/{tenant}/toolstacks',
  tags,
  summary: 'List toolstacks, revoked ones included',
  scope: 'toolstacks',
  reach: 'tenant-wide',
  request: { params: TenantParams, query: PageQuerySchema },
  responses: { 200: jsonContent(ToolstackListSchema, 'One page of toolstacks, oldest first.') },
});

export const getToolstack = tenantRoute({
  operationId: 'getToolstack',
  action: 'toolstack.read',
  method: 'get',
  path: '/tenants/{tenant}/toolstacks/{toolstack}',
  tags,
  summary: 'Get a toolstack',
  scope: 'toolstacks',
  reach: 'tenant-wide',
  request: { params: ToolstackParams },
  responses: { 200: jsonContent(ToolstackSchema, 'The toolstack.') },
});

export const revokeToolstack = tenantRoute({
  operationId: 'revokeToolstack',
  action: 'toolstack.revoke',
  method: 'delete',
  path: '/tenants/{tenant}/toolstacks/{toolstack}',
  tags,
  summary: 'Revoke a toolstack',
  description:
    'Takes effect on its next request. Its records stay in the log and still verify. Revoking twice is harmless. A toolstack with `toolstacks` may revoke only toolstacks within its own ceiling.',
  problems: ['exceeds_own_ceiling'],
  scope: 'toolstacks',
  reach: 'tenant-wide',
  request: { params: ToolstackParams },
  responses: { 200: jsonContent(ToolstackSchema, 'The revoked toolstack.') },
});

export const patchToolstack = tenantRoute({
  operationId: 'patchToolstack',
  action: 'toolstack.update',
  problems: ['exceeds_own_ceiling', 'invalid_state'],
  method: 'patch',
  path: '/tenants/{tenant}/toolstacks/{toolstack}',
  tags,
  summary: "Change a toolstack's ceiling",
  description:
    'Its scopes, its VM limit, or both; tokens minted afterwards are held to the new ceiling. A toolstack with `toolstacks` may change only toolstacks within its own ceiling, and only to within it.',
  scope: 'toolstacks',
  reach: 'tenant-wide',
  request: { params: ToolstackParams, body: jsonRequestBody(UpdateToolstackBody) },
  responses: { 200: jsonContent(ToolstackSchema, 'The toolstack with its new ceiling.') },
});
