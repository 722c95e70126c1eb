import { z } from '@hono/zod-openapi';
import { nextPageTokenSchema } from '../../platform/http/pagination';
import { DiskGiB, MemoryMiB, Name, Vcpus } from '../hosts/hosts.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { TenantView } from './tenants.service';

export const TenantId = z
  .string()
  .regex(/^ten_[0-9A-Z]{26}$/)
  .openapi({ example: 'ten_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
export const TenantParams = z.object({ tenant: TenantId.openapi({ param: { name: 'tenant', in: 'path' } }) });

/** A public Ed25519 or P-256 JWK. Private members are refused outright, not silently dropped. */
export const PublicJwk = z
  .strictObject({
    kty: z.enum(['OKP', 'EC']),
    crv: z.enum(['Ed25519', 'P-256']),
    x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    y: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/)
      .optional(),
    kid: z.string().optional(),
    alg: z.enum(['EdDSA', 'ES256']).optional(),
    use: z.literal('sig').optional(),
    key_ops: z.array(z.literal('verify')).optional(),
  })
  .refine((k) => (k.kty === 'OKP' ? k.crv === 'Ed25519' && !k.y : k.crv === 'P-256' && !!k.y), {
    message: 'use an OKP Ed25519 key (x) or an EC P-256 key (x, y)',
  })
  .openapi('PublicJwk', {
    description: "The tenant owner's public key. Never send the private member `d`: the provider must not hold it.",
    example: { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' },
  });

export const QuotaSchema = z
  .strictObject({ vcpus: Vcpus, memoryMiB: MemoryMiB, diskGiB: DiskGiB })
  .openapi('Quota', { description: "The tenant's resource slice." });

export const CreateTenantBody = z.strictObject({ name: Name, ownerKey: PublicJwk, quota: QuotaSchema }).openapi('CreateTenant');

export const PatchTenantBody = z.strictObject({ name: Name.optional(), quota: QuotaSchema.partial().optional() }).openapi('PatchTenant');

export const TenantSchema = z
  .object({
    id: TenantId,
    name: z.string(),
    ownerKid: z.string().openapi({ description: 'RFC 7638 thumbprint of the owner key.' }),
    ownerKey: z.record(z.string(), z.unknown()).openapi({ description: 'The owner public JWK.' }),
    quota: z.object({ vcpus: z.number().int(), memoryMiB: z.number().int(), diskGiB: z.number().int() }),
    usage: z.object({ vcpus: z.number().int(), memoryMiB: z.number().int(), vms: z.number().int(), diskGiB: z.number().int() }),
    state: z.enum(['active', 'suspended']),
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Tenant');

export const TenantListSchema = z.object({ tenants: z.array(TenantSchema), nextPageToken: nextPageTokenSchema }).openapi('TenantList');

/** The service's view is exactly what this schema documents (a compile-time check). */
export const tenantViewMatchesSchema: SameShape<TenantView, typeof TenantSchema> = true;
