/**
 * Snapshots (docs/design.md §3): taken and restored server-side, by reference to
 * ciphertext versions — nothing is decrypted, nothing leaves the provider.
 */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { Digest } from '../contents/contents.schemas';
import { TenantParams } from '../../provider/tenants/tenants.schemas';
import { VmId } from '../../provider/vms/vms.schemas';
import { CreateSnapshotBody, SnapshotId, SnapshotParams, SnapshotSchema } from './snapshots.schemas';

const tags = ['snapshots'];

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
  problems: ['name_taken'],
  method: 'post',
  path: '/tenants/{tenant}/snapshots',
  tags,
  summary: "Snapshot a VM's memory and attached disks",
  scope: 'snapshot',
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(CreateSnapshotBody) },
  responses: { 201: { ...jsonContent(SnapshotSchema, 'The snapshot.'), headers: z.object({ Location: z.string() }) } },
});

export const listSnapshots = tenantRoute({
  operationId: 'listSnapshots',
  action: 'snapshot.list',
  method: 'get',
  path: '/tenants/{tenant}/snapshots',
  tags,
  summary: 'List snapshots',
  scope: 'snapshot',
  request: { params: TenantParams, query: PageQuerySchema.extend({ vm: VmId.optional().openapi({ description: "Only this VM's snapshots." }) }) },
  responses: { 200: jsonContent(SnapshotListSchema, 'One page of snapshots, oldest first.') },
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
  responses: { 200: jsonContent(SnapshotSchema, 'The snapshot.') },
});

export const restoreSnapshot = tenantRoute({
  operationId: 'restoreSnapshot',
  action: 'snapshot.restore',
  problems: ['invalid_state', 'precondition_failed'],
  method: 'post',
  path: '/tenants/{tenant}/snapshots/{snapshot}:restore',
  tags,
  summary: 'Restore a snapshot onto its (stopped or paused) VM',
  description: 'Every captured page gets a new version copied from the captured one; pages written since and absent from the snapshot read as unwritten again.',
  scope: 'snapshot',
  request: { params: SnapshotParams, headers: IdempotencyHeaders },
  responses: { 200: jsonContent(RestoreSchema, 'The new versions.') },
});
