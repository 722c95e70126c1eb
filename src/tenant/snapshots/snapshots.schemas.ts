/** Shapes of snapshots (docs/design.md §3), declared once: the routes document them, the service returns them. */
import { z } from '@hono/zod-openapi';
import { Name } from '../../provider/hosts/hosts.schemas';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import { VmId } from '../../provider/vms/vms.schemas';

export const SnapshotId = z
  .string()
  .regex(/^snp_[0-9A-Z]{26}$/)
  .openapi({ example: 'snp_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
export const SnapshotParams = TenantParams.extend({ snapshot: SnapshotId.openapi({ param: { name: 'snapshot', in: 'path' } }) });
export const CreateSnapshotBody = z.strictObject({ vm: VmId, name: Name }).openapi('CreateSnapshot');
export const SnapshotSchema = z
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
