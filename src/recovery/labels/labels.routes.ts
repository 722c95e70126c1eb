/** Labels (docs/design.md §6, §8): the tenant's names for sensitive regions, which the exposure report is organised by. */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { DiskId } from '../../tenant/disks/disks.schemas';
import { Name } from '../../provider/hosts/hosts.schemas';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import { VmId } from '../../provider/vms/vms.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { LabelView } from './labels.service';

const tags = ['labels'];

export const LabelName = Name.openapi({ description: "The label's name, unique in the tenant.", example: 'tls-key' });
const LabelParams = TenantParams.extend({ name: LabelName.openapi({ param: { name: 'name', in: 'path' } }) });
const Start = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).openapi({ description: 'First page (memory) or block (disk).' });
const Count = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).openapi({ description: 'Pages or blocks in the region.' });

export const RegionSchema = z
  .discriminatedUnion('space', [
    z.strictObject({ space: z.literal('memory'), vm: VmId, start: Start, count: Count }),
    z.strictObject({ space: z.literal('disk'), disk: DiskId, start: Start, count: Count }),
  ])
  .openapi('LabelledRegion', { description: "Pages `start`…`start+count−1` of a VM's memory or of a disk." });

const Stamp = z.object({ name: z.string(), tenant: TenantId, revision: z.number().int(), createdAt: z.string(), updatedAt: z.string() });
const LabelSchema = z
  .union([
    Stamp.extend({ space: z.literal('memory'), vm: VmId, start: z.number().int(), count: z.number().int() }),
    Stamp.extend({ space: z.literal('disk'), disk: DiskId, start: z.number().int(), count: z.number().int() }),
  ])
  .openapi('Label');
const LabelListSchema = z.object({ labels: z.array(LabelSchema), nextPageToken: nextPageTokenSchema }).openapi('LabelList');

export const putLabel = tenantRoute({
  operationId: 'putLabel',
  action: 'label.put',
  problems: ['index_out_of_range'],
  method: 'put',
  path: '/tenants/{tenant}/labels/{name}',
  tags,
  summary: 'Create or replace a label',
  scope: 'labels',
  request: { params: LabelParams, headers: IdempotencyHeaders, body: jsonRequestBody(RegionSchema) },
  responses: {
    200: jsonContent(LabelSchema, 'The label, replaced.'),
    201: { ...jsonContent(LabelSchema, 'The label, created.'), headers: z.object({ Location: z.string() }) },
  },
});

export const listLabels = tenantRoute({
  operationId: 'listLabels',
  action: 'label.list',
  method: 'get',
  path: '/tenants/{tenant}/labels',
  tags,
  summary: 'List labels',
  scope: 'labels',
  request: { params: TenantParams, query: PageQuerySchema },
  responses: { 200: jsonContent(LabelListSchema, 'One page of labels, by name.') },
});

export const getLabel = tenantRoute({
  operationId: 'getLabel',
  action: 'label.read',
  method: 'get',
  path: '/tenants/{tenant}/labels/{name}',
  tags,
  summary: 'Fetch a label',
  scope: 'labels',
  request: { params: LabelParams },
  responses: { 200: jsonContent(LabelSchema, 'The label.') },
});

export const deleteLabel = tenantRoute({
  operationId: 'deleteLabel',
  action: 'label.delete',
  method: 'delete',
  path: '/tenants/{tenant}/labels/{name}',
  tags,
  summary: 'Delete a label',
  scope: 'labels',
  request: { params: LabelParams },
  responses: { 204: { description: 'Deleted.' } },
});

/** The service's view is exactly what this schema documents (a compile-time check). */
export const labelViewMatchesSchema: SameShape<LabelView, typeof LabelSchema> = true;
