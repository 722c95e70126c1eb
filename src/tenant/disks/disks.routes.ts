/**
 * Tenant disks (docs/design.md §3, §8): created within the slice, attached to one VM
 * at a time. Their blocks are in tenant/contents, with memory pages.
 */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { PageQuerySchema } from '../../platform/http/pagination';
import { TenantParams } from '../../provider/tenants/tenants.schemas';
import { AttachDiskBody, CreateDiskBody, DiskListSchema, DiskParams, DiskSchema } from './disks.schemas';

const tags = ['disks'];

export const createDisk = tenantRoute({
  operationId: 'createDisk',
  action: 'disk.create',
  problems: ['name_taken', 'quota_exceeded', 'invalid_state'],
  method: 'post',
  path: '/tenants/{tenant}/disks',
  tags,
  summary: "Create a disk within the tenant's slice",
  description: 'Over the diskGiB slice: `quota_exceeded`.',
  scope: 'disk:write',
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(CreateDiskBody) },
  responses: { 201: { ...jsonContent(DiskSchema, 'The disk.'), headers: z.object({ Location: z.string() }) } },
});

export const listDisks = tenantRoute({
  operationId: 'listDisks',
  action: 'disk.list',
  method: 'get',
  path: '/tenants/{tenant}/disks',
  tags,
  summary: "List the tenant's disks",
  scope: 'disk:read',
  request: { params: TenantParams, query: PageQuerySchema },
  responses: { 200: jsonContent(DiskListSchema, 'One page of disks, oldest first.') },
});

export const getDisk = tenantRoute({
  operationId: 'getDisk',
  action: 'disk.read',
  method: 'get',
  path: '/tenants/{tenant}/disks/{disk}',
  tags,
  summary: 'Get a disk',
  scope: 'disk:read',
  request: { params: DiskParams },
  responses: { 200: jsonContent(DiskSchema, 'The disk.') },
});

export const deleteDisk = tenantRoute({
  operationId: 'deleteDisk',
  action: 'disk.delete',
  problems: ['resource_in_use'],
  method: 'delete',
  path: '/tenants/{tenant}/disks/{disk}',
  tags,
  summary: 'Delete a detached disk and its blocks',
  scope: 'disk:write',
  request: { params: DiskParams },
  responses: { 204: { description: 'Deleted.' } },
});

export const attachDisk = tenantRoute({
  operationId: 'attachDisk',
  action: 'disk.attach',
  problems: ['invalid_state', 'resource_in_use'],
  method: 'post',
  path: '/tenants/{tenant}/disks/{disk}:attach',
  tags,
  summary: "Attach a disk to one of the tenant's VMs",
  scope: 'disk:write',
  request: { params: DiskParams, headers: IdempotencyHeaders, body: jsonRequestBody(AttachDiskBody) },
  responses: { 200: jsonContent(DiskSchema, 'The attached disk.') },
});

export const detachDisk = tenantRoute({
  operationId: 'detachDisk',
  action: 'disk.detach',
  problems: ['invalid_state', 'resource_in_use'],
  method: 'post',
  path: '/tenants/{tenant}/disks/{disk}:detach',
  tags,
  summary: 'Detach a disk from its VM',
  scope: 'disk:write',
  request: { params: DiskParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(DiskSchema, 'The detached disk.') },
});
