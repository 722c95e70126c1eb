import { z } from '@hono/zod-openapi';
import { nextPageTokenSchema } from '../../platform/http/pagination';
import type { SameShape } from '../../platform/http/responses';
import type { HostView } from './hosts.service';

/** Sizes are bounded so that sums stay exact integers and typos (GiB for MiB) are caught. */
export const Vcpus = z.number().int().min(1).max(4096).openapi({ example: 64 });
export const MemoryMiB = z
  .number()
  .int()
  .min(128)
  .max(64 * 1024 * 1024)
  .openapi({ example: 262144 });
export const DiskGiB = z
  .number()
  .int()
  .min(1)
  .max(1024 * 1024)
  .openapi({ example: 4096 });
export const Name = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'lowercase letters, digits and inner hyphens (RFC 1123 label)');

export const HostId = z
  .string()
  .regex(/^hst_[0-9A-Z]{26}$/)
  .openapi({ example: 'hst_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });

export const HostParams = z.object({ host: HostId.openapi({ param: { name: 'host', in: 'path' } }) });

export const CreateHostBody = z.strictObject({ name: Name, vcpus: Vcpus, memoryMiB: MemoryMiB, diskGiB: DiskGiB }).openapi('CreateHost');

export const PatchHostBody = z
  .strictObject({
    name: Name.optional(),
    vcpus: Vcpus.optional(),
    memoryMiB: MemoryMiB.optional(),
    diskGiB: DiskGiB.optional(),
    state: z.literal('active').optional().openapi({ description: 'Return a draining or drained host to service.' }),
  })
  .openapi('PatchHost');

export const HostSchema = z
  .object({
    id: HostId,
    name: z.string(),
    vcpus: z.number().int(),
    memoryMiB: z.number().int(),
    diskGiB: z.number().int(),
    state: z.enum(['active', 'draining', 'drained']),
    allocated: z.object({ vcpus: z.number().int(), memoryMiB: z.number().int(), vms: z.number().int() }),
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Host');

export const HostListSchema = z.object({ hosts: z.array(HostSchema), nextPageToken: nextPageTokenSchema }).openapi('HostList');

export const DrainReportSchema = z
  .object({
    host: HostSchema,
    migrated: z.array(z.object({ vm: z.string(), tenant: z.string(), from: z.string(), to: z.string() })),
    stranded: z.array(z.object({ vm: z.string(), reason: z.string() })),
  })
  .openapi('DrainReport');

/** The service's view is exactly what this schema documents (a compile-time check). */
export const hostViewMatchesSchema: SameShape<HostView, typeof HostSchema> = true;
