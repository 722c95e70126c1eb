/** Wrapped data keys (docs/design.md §3, §4): opaque JWE blobs the provider stores and cannot open. */
import { z } from '@hono/zod-openapi';
import { IdempotencyHeaders, jsonContent, jsonRequestBody } from '../../platform/http/responses';
import { tenantRoute } from '../../http/route-factories';
import { nextPageTokenSchema, PageQuerySchema } from '../../platform/http/pagination';
import { MAX_WRAPPED_KEY_LENGTH } from './wrapped-keys.service';
import { Name } from '../../provider/hosts/hosts.schemas';
import { TenantId, TenantParams } from '../../provider/tenants/tenants.schemas';
import type { SameShape } from '../../platform/http/responses';
import type { WrappedKeyView } from './wrapped-keys.service';

const tags = ['keys'];

const KeyId = z
  .string()
  .regex(/^key_[0-9A-Z]{26}$/)
  .openapi({ example: 'key_01JD6Z8Q2W4VJ3M9K7T5XQ1B8C' });
const KeyParams = TenantParams.extend({ key: KeyId.openapi({ param: { name: 'key', in: 'path' } }) });
const Wrapped = z
  .string()
  .min(1)
  .max(MAX_WRAPPED_KEY_LENGTH)
  .regex(/^[\x21-\x7e]+$/)
  .openapi({ description: `The wrapped key as the tenant made it (a compact JWE), at most ${MAX_WRAPPED_KEY_LENGTH} printable ASCII characters.` });
const StoreKeyBody = z.strictObject({ name: Name, wrapped: Wrapped }).openapi('StoreWrappedKey');
const WrappedKeySchema = z.object({ id: KeyId, tenant: TenantId, name: z.string(), wrapped: Wrapped, createdAt: z.string() }).openapi('WrappedKey');
const WrappedKeyListSchema = z.object({ keys: z.array(WrappedKeySchema), nextPageToken: nextPageTokenSchema }).openapi('WrappedKeyList');

export const storeWrappedKey = tenantRoute({
  operationId: 'storeWrappedKey',
  action: 'key.store',
  problems: ['name_taken'],
  method: 'post',
  path: '/tenants/{tenant}/keys',
  tags,
  summary: 'Store a wrapped data key',
  scope: 'keys',
  request: { params: TenantParams, headers: IdempotencyHeaders, body: jsonRequestBody(StoreKeyBody) },
  responses: { 201: { ...jsonContent(WrappedKeySchema, 'The stored key.'), headers: z.object({ Location: z.string() }) } },
});

export const listWrappedKeys = tenantRoute({
  operationId: 'listWrappedKeys',
  action: 'key.list',
  method: 'get',
  path: '/tenants/{tenant}/keys',
  tags,
  summary: 'List wrapped data keys',
  scope: 'keys',
  request: { params: TenantParams, query: PageQuerySchema.extend({ name: Name.optional().openapi({ description: 'Only the key of this name.' }) }) },
  responses: { 200: jsonContent(WrappedKeyListSchema, 'One page of keys, oldest first.') },
});

export const getWrappedKey = tenantRoute({
  operationId: 'getWrappedKey',
  action: 'key.read',
  method: 'get',
  path: '/tenants/{tenant}/keys/{key}',
  tags,
  summary: 'Fetch a wrapped data key',
  scope: 'keys',
  request: { params: KeyParams },
  responses: { 200: jsonContent(WrappedKeySchema, 'The key, still wrapped.') },
});

export const deleteWrappedKey = tenantRoute({
  operationId: 'deleteWrappedKey',
  action: 'key.delete',
  method: 'delete',
  path: '/tenants/{tenant}/keys/{key}',
  tags,
  summary: 'Delete a wrapped data key',
  scope: 'keys',
  request: { params: KeyParams },
  responses: { 204: { description: 'Deleted.' } },
});

/** The service's view is exactly what this schema documents (a compile-time check). */
export const wrappedKeyViewMatchesSchema: SameShape<WrappedKeyView, typeof WrappedKeySchema> = true;
