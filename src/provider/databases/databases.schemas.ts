import { z } from '@hono/zod-openapi';
import type { SameShape } from '../../platform/http/responses';
import type { DatabaseUsage } from './databases.service';

export const DatabaseSchema = z
  .object({
    binding: z.string().openapi({ example: 'DB', description: "The Worker's D1 binding." }),
    holds: z
      .array(z.enum(['provider', 'tenants']))
      .openapi({ description: "What it holds: the provider's tables and log (`provider`), tenants' rows and logs (`tenants`)." }),
    tenants: z.number().int(),
    vms: z.number().int(),
    sizeBytes: z.number().int().openapi({ description: 'Its size as D1 reports it (`meta.size_after`).' }),
    used: z.number().openapi({ example: 0.0123, description: '`sizeBytes` ÷ `limitBytes`.' }),
  })
  .openapi('Database');

export const DatabaseListSchema = z
  .object({
    databases: z.array(DatabaseSchema),
    limitBytes: z
      .number()
      .int()
      .openapi({ description: "D1's size limit per database on Workers Paid, which Custodes's Durable Objects need (10 GB; it cannot be raised)." }),
  })
  .openapi('DatabaseList');

/** The service's view and the schema stay the same shape (checked at compile time). */
export const databaseUsageMatchesSchema: SameShape<DatabaseUsage, typeof DatabaseSchema> = true;
