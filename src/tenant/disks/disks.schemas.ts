import { z } from '@hono/zod-openapi';
import { nextPageTokenSchema } from '../../platform/http/pagination';
import { Name } from '../../provider/hosts/hosts.schemas';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import { VmId } from '../../provider/vms/vms.schemas';

export const DiskId = z
  .string()
  .regex(/^dsk_[0-9A-Z]{26}$/)
  .openapi({ example: 'dsk_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
export const DiskParams = TenantParams.extend({ disk: DiskId.openapi({ param: { name: 'disk', in: 'path' } }) });

export const CreateDiskBody = z.strictObject({ name: Name, sizeGiB: z.number().int().min(1).max(65536) }).openapi('CreateDisk');
export const AttachDiskBody = z.strictObject({ vm: VmId }).openapi('AttachDisk');

export const DiskSchema = z
  .object({
    id: DiskId,
    tenant: TenantId,
    name: z.string(),
    sizeGiB: z.number().int(),
    vm: VmId.nullable().openapi({ description: 'The VM it is attached to, if any.' }),
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Disk');

export const DiskListSchema = z.object({ disks: z.array(DiskSchema), nextPageToken: nextPageTokenSchema }).openapi('DiskList');
