import { z } from '@hono/zod-openapi';
import { TENANT_SCOPES } from '../../auth/roles';
import { nextPageTokenSchema } from '../../platform/http/pagination';
import { Name } from '../../provider/hosts/hosts.schemas';
import { PublicJwk, TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import { VmId } from '../../provider/vms/vms.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { ToolstackView } from './toolstacks.service';

export const ToolstackId = z
  .string()
  .regex(/^tsk_[0-9A-Z]{26}$/)
  .openapi({ example: 'tsk_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
export const ToolstackParams = TenantParams.extend({ toolstack: ToolstackId.openapi({ param: { name: 'toolstack', in: 'path' } }) });

export const TenantScope = z.enum(TENANT_SCOPES);

export const CreateToolstackBody = z
  .strictObject({
    name: Name,
    publicKey: PublicJwk,
    scopes: z.array(TenantScope).min(1).max(TENANT_SCOPES.length).openapi({ description: 'The ceiling: its tokens may ask for these scopes, never more.' }),
    vms: z.array(VmId).min(1).max(100).optional().openapi({ description: 'Limit it to these VMs of the tenant; omitted, it may reach all of them.' }),
  })
  .openapi('CreateToolstack');

export const UpdateToolstackBody = z
  .strictObject({
    scopes: z.array(TenantScope).min(1).max(TENANT_SCOPES.length).optional().openapi({ description: 'The new ceiling.' }),
    vms: z.array(VmId).min(1).max(100).nullable().optional().openapi({ description: "The new VM limit; null: all of the tenant's VMs." }),
  })
  .refine((b) => b.scopes !== undefined || b.vms !== undefined, 'change scopes, vms or both')
  .openapi('UpdateToolstack');

export const ToolstackSchema = z
  .object({
    id: ToolstackId,
    tenant: TenantId,
    name: z.string(),
    kid: z.string().openapi({ description: 'RFC 7638 thumbprint of the public key: the `kid` of its tokens.' }),
    publicKey: z.record(z.string(), z.unknown()).openapi({ description: "The toolstack's public JWK." }),
    scopes: z.array(z.string()),
    vms: z.array(VmId).nullable(),
    state: z.enum(['active', 'revoked']),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Toolstack');

export const ToolstackListSchema = z.object({ toolstacks: z.array(ToolstackSchema), nextPageToken: nextPageTokenSchema }).openapi('ToolstackList');

/** The service's view is exactly what this schema documents (a compile-time check). */
export const toolstackViewMatchesSchema: SameShape<ToolstackView, typeof ToolstackSchema> = true;
