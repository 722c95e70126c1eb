/**
 * Guest memory (DESIGN §3, §8): batched page writes, range reads and exact
 * past versions, for the tenant's own principals only. The records list
 * every page and version read or written, with its ciphertext digest.
 */
import { IdempotencyHeaders, jsonContent, jsonRequestBody, problemResponses, tenantRoute } from '../../http/openapi';
import { TenantVmParams } from '../tenant-vms/tenant-vms.routes';
import { CONTENT_BODY_BYTES, PageRangeQuery, PagesSchema, StoredPageSchema, VersionParamsShape, WritePagesBody, WrittenPagesSchema } from './pages.schemas';

const tags = ['memory'];

export const writeMemoryPages = tenantRoute({
  operationId: 'writeMemoryPages',
  action: 'vm.memory.write',
  method: 'put',
  path: '/tenants/{tenant}/vms/{vm}/memory/pages',
  tags,
  summary: 'Write memory pages (client-encrypted envelopes)',
  description: 'Each page written becomes a new retained version. Index beyond the VM\'s memory: `index_out_of_range`; a malformed envelope: `invalid_envelope`.',
  scope: 'memory:write',
  maxBodyBytes: CONTENT_BODY_BYTES,
  request: { params: TenantVmParams, headers: IdempotencyHeaders, body: jsonRequestBody(WritePagesBody) },
  responses: { 200: jsonContent(WrittenPagesSchema, 'The new version of each page.'), ...problemResponses(404, 409, 412, 413, 415, 422) },
});

export const readMemoryPages = tenantRoute({
  operationId: 'readMemoryPages',
  action: 'vm.memory.read',
  method: 'get',
  path: '/tenants/{tenant}/vms/{vm}/memory/pages',
  tags,
  summary: 'Read a range of memory pages (current versions)',
  scope: 'memory:read',
  request: { params: TenantVmParams, query: PageRangeQuery },
  responses: { 200: jsonContent(PagesSchema, 'The written pages of the range.'), ...problemResponses(404) },
});

export const readMemoryPageVersion = tenantRoute({
  operationId: 'readMemoryPageVersion',
  action: 'vm.memory.read',
  method: 'get',
  path: '/tenants/{tenant}/vms/{vm}/memory/pages/{index}/versions/{version}',
  tags,
  summary: 'Read an exact past version of a memory page',
  scope: 'memory:read',
  request: { params: TenantVmParams.extend(VersionParamsShape) },
  responses: { 200: jsonContent(StoredPageSchema, 'That version of the page.'), ...problemResponses(404) },
});
