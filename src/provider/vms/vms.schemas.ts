import { z } from '@hono/zod-openapi';
import { nextPageTokenSchema } from '../../platform/http/pagination';
import { HostId, MemoryMiB, Name, Vcpus } from '../hosts/hosts.schemas';
import { TenantId } from '../tenants/tenants.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { VmView } from './vms.service';

export const VmId = z
  .string()
  .regex(/^vm_[0-9A-Z]{26}$/)
  .openapi({ example: 'vm_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
export const VmParams = z.object({ vm: VmId.openapi({ param: { name: 'vm', in: 'path' } }) });

export const CreateVmBody = z.strictObject({ name: Name, vcpus: Vcpus, memoryMiB: MemoryMiB }).openapi('CreateVm');

export const PatchVmBody = z
  .strictObject({ name: Name.optional(), vcpus: Vcpus.optional(), memoryMiB: MemoryMiB.optional() })
  .openapi('PatchVm', { description: 'Resize or rename. Growth must fit the host and the tenant quota.' });

export const MigrateVmBody = z
  .strictObject({
    host: HostId.optional().openapi({ description: 'Target host; omitted, the scheduler picks the best other host.' }),
  })
  .openapi('MigrateVm');

export const VmSchema = z
  .object({
    id: VmId,
    tenant: TenantId,
    host: HostId,
    name: z.string(),
    vcpus: z.number().int(),
    memoryMiB: z.number().int(),
    state: z.enum(['running', 'stopped', 'paused']),
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Vm');

export const VmListQuery = z.object({
  tenant: TenantId.optional().openapi({ description: "Only this tenant's VMs." }),
  host: HostId.optional().openapi({ description: 'Only VMs on this host.' }),
});

export const VmListSchema = z.object({ vms: z.array(VmSchema), nextPageToken: nextPageTokenSchema }).openapi('VmList');

export const MigrationSchema = z.object({ vm: VmSchema, from: HostId, to: HostId }).openapi('Migration');

/** The service's view is exactly what this schema documents (a compile-time check). */
export const vmViewMatchesSchema: SameShape<VmView, typeof VmSchema> = true;
