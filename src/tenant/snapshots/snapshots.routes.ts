/**
 * Snapshots (DESIGN §3): taken and restored server-side, by reference to
 * ciphertext versions — nothing is decrypted, nothing leaves the provider.
 */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody, problemResponses } from '../../platform/http/responses';
import { tenantRoute } from '../../platform/http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { Name } from '../../provider/hosts/hosts.schemas';
import { Digest } from '../contents/contents.schemas';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import { VmId } from '../../provider/vms/vms.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { SnapshotView } from './snapshots.service';

const tags = ['snapshots'];

const SnapshotId = z.string().regex(/^snp_[0-9A-Z]{26}$/).openapi({ example: 'snp_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
const SnapshotParams = TenantParams.extend({ snapshot: SnapshotId.openapi({ param: { name: 'snapshot', in: 'path' } }) });
const CreateSnapshotBody = z.strictObject({ vm: VmId, name: Name }).openapi('CreateSnapshot');
const SnapshotSchema = z
  .object({
    id: SnapshotId,
    tenant: TenantId,
    vm: VmId,
    name: z.string(),
    pages: z.number().int().openapi({ description: 'Written memory pages and disk blocks captured.' }),
    disks: z.array(z.string()).openapi({ description: 'Disks attached to the VM when it was taken.' }),
    createdAt: z.string(),
  })
  .openapi('Snapshot');
const SnapshotListSchema = z.object({ snapshots: z.array(SnapshotSchema), nextPageToken: nextPageTokenSchema }).openapi('SnapshotList');
const RestoreSchema = z
  .object({
    snapshot: SnapshotId,
    vm: VmId,
    pages: z.array(z.object({ space: z.enum(['memory', 'disk']), resource: z.string(), index: z.number().int(), version: z.number().int(), digest: Digest })),
    auditIndex: z.number().int(),
  })
  .openapi('SnapshotRestore');

export const createSnapshot = tenantRoute({
  operationId: 'createSnapshot',
  action: 'snapshot.create',
  method: 'post',
  path: '/tenants/{tenant}/snapshots',
  tags,
  summary: 'Snapshot a VM\'s memory and attached disks',
  scope: 'snapshot',
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(CreateSnapshotBody) },
  responses: { 201: { ...jsonContent(SnapshotSchema, 'The snapshot.'), headers: z.object({ Location: z.string() }) }, ...problemResponses(404, 409, 413, 415, 422) },
});

export const listSnapshots = tenantRoute({
  operationId: 'listSnapshots',
  action: 'snapshot.list',
  method: 'get',
  path: '/tenants/{tenant}/snapshots',
  tags,
  summary: 'List snapshots',
  scope: 'snapshot',
  request: { params: TenantParams, query: PageQuerySchema.extend({ vm: VmId.optional().openapi({ description: 'Only this VM\'s snapshots.' }) }) },
  responses: { 200: jsonContent(SnapshotListSchema, 'One page of snapshots, oldest first.'), ...problemResponses(404) },
});

export const getSnapshot = tenantRoute({
  operationId: 'getSnapshot',
  action: 'snapshot.read',
  method: 'get',
  path: '/tenants/{tenant}/snapshots/{snapshot}',
  tags,
  summary: 'Get a snapshot',
  scope: 'snapshot',
  request: { params: SnapshotParams },
  responses: { 200: jsonContent(SnapshotSchema, 'The snapshot.'), ...problemResponses(404) },
});

export const restoreSnapshot = tenantRoute({
  operationId: 'restoreSnapshot',
  action: 'snapshot.restore',
  method: 'post',
  path: '/tenants/{tenant}/snapshots/{snapshot}:restore',
  tags,
  summary: 'Restore a snapshot onto its (stopped or paused) VM',
  description: 'Every captured page gets a new version copied from the captured one; pages written since and absent from the snapshot read as unwritten again.',
  scope: 'snapshot',
  request: { params: SnapshotParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(RestoreSchema, 'The new versions.'), ...problemResponses(404, 409, 412, 422) },
});

/** The service's view is exactly what this schema documents (a compile-time check). */
export const snapshotViewMatchesSchema: SameShape<SnapshotView, typeof SnapshotSchema> = true;
