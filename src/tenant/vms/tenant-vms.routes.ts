/**
 * The tenant's own view of its VMs (docs/design.md §3): list and read, power control
 * (`vm:control`), and self-service creation within the slice (`vm:create`),
 * placed by the provider's scheduler exactly as an admin's create would be.
 */
import type { AuditedAction } from '../../audit/actions';
import { z } from '@hono/zod-openapi';
import { ETagHeader, IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { PageQuerySchema } from '../../platform/http/pagination';
import { TenantParams } from '../../provider/tenants/tenants.schemas';
import { CreateVmBody, VmListSchema, VmParams, VmSchema } from '../../provider/vms/vms.schemas';

const tags = ['tenant vms'];
export const TenantVmParams = TenantParams.extend(VmParams.shape);

export const listTenantVms = tenantRoute({
  operationId: 'listTenantVms',
  action: 'vm.list',
  method: 'get',
  path: '/tenants/{tenant}/vms',
  tags,
  summary: "List the tenant's VMs",
  description: 'A token limited to some VMs sees only those.',
  scope: 'vm:read',
  request: { params: TenantParams, query: PageQuerySchema },
  responses: { 200: jsonContent(VmListSchema, 'One page of VMs, oldest first.') },
});

export const createTenantVm = tenantRoute({
  operationId: 'createTenantVm',
  action: 'vm.create',
  problems: ['name_taken', 'quota_exceeded', 'no_capacity', 'invalid_state'],
  method: 'post',
  path: '/tenants/{tenant}/vms',
  tags,
  summary: "Create a VM within the tenant's slice",
  description: 'Placed by the provider on the active host with the most free memory. Over the slice: `quota_exceeded`; no room: `no_capacity`.',
  scope: 'vm:create',
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(CreateVmBody) },
  responses: {
    201: { ...jsonContent(VmSchema, 'The placed VM.'), headers: z.object({ ETag: ETagHeader, Location: z.string() }) },
  },
});

export const getTenantVm = tenantRoute({
  operationId: 'getTenantVm',
  action: 'vm.read',
  method: 'get',
  path: '/tenants/{tenant}/vms/{vm}',
  tags,
  summary: "Get one of the tenant's VMs",
  scope: 'vm:read',
  request: { params: TenantVmParams },
  responses: { 200: { ...jsonContent(VmSchema, 'The VM.'), headers: z.object({ ETag: ETagHeader }) } },
});

const powerRoute = <const A extends 'start' | 'stop' | 'pause'>(action: A, audited: `vm.${A}` & AuditedAction, summary: string) =>
  tenantRoute({
    operationId: `${action}TenantVm` as `${A}TenantVm`,
    action: audited,
    problems: ['invalid_state'],
    method: 'post',
    path: `/tenants/{tenant}/vms/{vm}:${action}` as `/tenants/{tenant}/vms/{vm}:${A}`,
    tags,
    summary,
    scope: 'vm:control',
    request: { params: TenantVmParams, headers: IdempotencyHeaders },
    responses: { 200: jsonContent(VmSchema, 'The VM in its new state.') },
  });

export const startTenantVm = powerRoute('start', 'vm.start', 'Start a stopped or paused VM');
export const stopTenantVm = powerRoute('stop', 'vm.stop', 'Stop a running or paused VM');
export const pauseTenantVm = powerRoute('pause', 'vm.pause', 'Pause a running VM');
