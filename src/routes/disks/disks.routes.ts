/**
 * Tenant disks (DESIGN §3, §8): created within the slice, attached to one VM
 * at a time, and their blocks read and written exactly like memory pages.
 */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody, problemResponses, tenantRoute } from '../../http/openapi';
import { PageQuerySchema } from '../../http/pagination';
import { CONTENT_BODY_BYTES, PageRangeQuery, PagesSchema, StoredPageSchema, VersionParamsShape, WritePagesBody, WrittenPagesSchema } from '../memory/pages.schemas';
import { TenantParams } from '../tenants/tenants.schemas';
import { AttachDiskBody, CreateDiskBody, DiskListSchema, DiskParams, DiskSchema } from './disks.schemas';

const tags = ['disks'];

export const createDisk = tenantRoute({
  operationId: 'createDisk',
  action: 'disk.create',
  method: 'post',
  path: '/tenants/{tenant}/disks',
  tags,
  summary: 'Create a disk within the tenant\'s slice',
  description: 'Over the diskGiB slice: `quota_exceeded`.',
  scope: 'disk:write',
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(CreateDiskBody) },
  responses: { 201: { ...jsonContent(DiskSchema, 'The disk.'), headers: z.object({ Location: z.string() }) }, ...problemResponses(404, 409, 413, 415, 422) },
});

export const listDisks = tenantRoute({
  operationId: 'listDisks',
  action: 'disk.list',
  method: 'get',
  path: '/tenants/{tenant}/disks',
  tags,
  summary: 'List the tenant\'s disks',
  scope: 'disk:read',
  request: { params: TenantParams, query: PageQuerySchema },
  responses: { 200: jsonContent(DiskListSchema, 'One page of disks, oldest first.'), ...problemResponses(404) },
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
  responses: { 200: jsonContent(DiskSchema, 'The disk.'), ...problemResponses(404) },
});

export const deleteDisk = tenantRoute({
  operationId: 'deleteDisk',
  action: 'disk.delete',
  method: 'delete',
  path: '/tenants/{tenant}/disks/{disk}',
  tags,
  summary: 'Delete a detached disk and its blocks',
  scope: 'disk:write',
  request: { params: DiskParams },
  responses: { 204: { description: 'Deleted.' }, ...problemResponses(404, 409) },
});

export const attachDisk = tenantRoute({
  operationId: 'attachDisk',
  action: 'disk.attach',
  method: 'post',
  path: '/tenants/{tenant}/disks/{disk}:attach',
  tags,
  summary: 'Attach a disk to one of the tenant\'s VMs',
  scope: 'disk:write',
  request: { params: DiskParams, headers: IdempotencyHeaders, body: jsonRequestBody(AttachDiskBody) },
  responses: { 200: jsonContent(DiskSchema, 'The attached disk.'), ...problemResponses(404, 409, 413, 415, 422) },
});

export const detachDisk = tenantRoute({
  operationId: 'detachDisk',
  action: 'disk.detach',
  method: 'post',
  path: '/tenants/{tenant}/disks/{disk}:detach',
  tags,
  summary: 'Detach a disk from its VM',
  scope: 'disk:write',
  request: { params: DiskParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(DiskSchema, 'The detached disk.'), ...problemResponses(404, 409, 422) },
});

export const writeDiskBlocks = tenantRoute({
  operationId: 'writeDiskBlocks',
  action: 'disk.blocks.write',
  method: 'put',
  path: '/tenants/{tenant}/disks/{disk}/blocks',
  tags,
  summary: 'Write disk blocks (client-encrypted envelopes)',
  description: 'As memory pages: each block written becomes a new retained version.',
  scope: 'disk:write',
  maxBodyBytes: CONTENT_BODY_BYTES,
  request: { params: DiskParams, headers: IdempotencyHeaders, body: jsonRequestBody(WritePagesBody) },
  responses: { 200: jsonContent(WrittenPagesSchema, 'The new version of each block.'), ...problemResponses(404, 409, 412, 413, 415, 422) },
});

export const readDiskBlocks = tenantRoute({
  operationId: 'readDiskBlocks',
  action: 'disk.blocks.read',
  method: 'get',
  path: '/tenants/{tenant}/disks/{disk}/blocks',
  tags,
  summary: 'Read a range of disk blocks (current versions)',
  scope: 'disk:read',
  request: { params: DiskParams, query: PageRangeQuery },
  responses: { 200: jsonContent(PagesSchema, 'The written blocks of the range.'), ...problemResponses(404) },
});

export const readDiskBlockVersion = tenantRoute({
  operationId: 'readDiskBlockVersion',
  action: 'disk.blocks.read',
  method: 'get',
  path: '/tenants/{tenant}/disks/{disk}/blocks/{index}/versions/{version}',
  tags,
  summary: 'Read an exact past version of a disk block',
  scope: 'disk:read',
  request: { params: DiskParams.extend(VersionParamsShape) },
  responses: { 200: jsonContent(StoredPageSchema, 'That version of the block.'), ...problemResponses(404) },
});
