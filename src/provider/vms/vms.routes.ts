import { changeAccepted } from '../../governance/changes/changes.routes';
import { z } from '@hono/zod-openapi';
import { METADATA_READERS } from '../../auth/roles';
import { ETagHeader, IdempotencyHeaders, IfMatchHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { adminRoute } from '../../http/route-factories';
import { PageQuerySchema } from '../../platform/http/pagination';
import { TenantParams } from '../tenants/tenants.schemas';
import { CreateVmBody, MigrateVmBody, MigrationSchema, PatchVmBody, VmListQuery, VmListSchema, VmParams, VmSchema } from './vms.schemas';

const tags = ['vms'];

export const createVm = adminRoute({
  operationId: 'createVm',
  action: 'vm.create',
  problems: ['not_found', 'name_taken', 'quota_exceeded', 'no_capacity', 'invalid_state'],
  method: 'post',
  path: '/admin/tenants/{tenant}/vms',
  tags,
  summary: 'Create a VM for a tenant',
  description: 'Places the VM on the active host with the most free memory that has room. No room: `no_capacity`; over the tenant slice: `quota_exceeded`.',
  roles: ['provisioner'],
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(CreateVmBody) },
  responses: {
    201: { ...jsonContent(VmSchema, 'The placed VM.'), headers: z.object({ ETag: ETagHeader, Location: z.string() }) },
  },
});

export const listVms = adminRoute({
  operationId: 'listVms',
  action: 'vm.list',
  method: 'get',
  path: '/admin/vms',
  tags,
  summary: 'List VMs (placement metadata only)',
  roles: METADATA_READERS,
  request: { query: PageQuerySchema.extend(VmListQuery.shape) },
  responses: { 200: jsonContent(VmListSchema, 'One page of VMs, oldest first.') },
});

export const getVm = adminRoute({
  operationId: 'getVm',
  action: 'vm.read',
  problems: ['not_found'],
  method: 'get',
  path: '/admin/vms/{vm}',
  tags,
  summary: "Get a VM's placement and size",
  roles: METADATA_READERS,
  request: { params: VmParams },
  responses: {
    200: { ...jsonContent(VmSchema, 'The VM.'), headers: z.object({ ETag: ETagHeader }) },
  },
});

export const patchVm = adminRoute({
  operationId: 'patchVm',
  action: 'vm.resize',
  problems: ['not_found', 'precondition_failed', 'name_taken', 'quota_exceeded', 'no_capacity', 'invalid_state'],
  method: 'patch',
  path: '/admin/vms/{vm}',
  tags,
  summary: 'Resize or rename a VM',
  roles: ['provisioner'],
  request: { params: VmParams, headers: IfMatchHeaders, body: jsonRequestBody(PatchVmBody) },
  responses: {
    200: { ...jsonContent(VmSchema, 'The resized VM.'), headers: z.object({ ETag: ETagHeader }) },
  },
});

export const deleteVm = adminRoute({
  operationId: 'deleteVm',
  action: 'vm.delete',
  problems: ['not_found', 'precondition_failed'],
  method: 'delete',
  path: '/admin/vms/{vm}',
  tags,
  summary: 'Propose deleting a VM (a second `provisioner` approves)',
  description: "Significant (the two-person rule): answers 202 with a change request; the VM's tenant sees every step of it in its own log.",
  roles: ['provisioner'],
  request: { params: VmParams, headers: IfMatchHeaders },
  responses: { 202: changeAccepted },
});

export const migrateVm = adminRoute({
  operationId: 'migrateVm',
  action: 'vm.migrate',
  problems: ['not_found', 'no_capacity', 'invalid_state'],
  method: 'post',
  path: '/admin/vms/{vm}:migrate',
  tags,
  summary: 'Live-migrate a VM to another host',
  description: 'The target must be active and have room (`no_capacity` otherwise).',
  roles: ['operator'],
  request: { params: VmParams, headers: IdempotencyHeaders, body: { required: false, content: { 'application/json': { schema: MigrateVmBody } } } },
  responses: { 200: jsonContent(MigrationSchema, 'The VM on its new host.') },
});
