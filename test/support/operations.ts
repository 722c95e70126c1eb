/** The operations of the OpenAPI document (the one `openapi.yaml` is generated from), for walks over every route. */
import { openApiDocument } from '../../src/app';
import { app } from './api';

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

export interface Operation {
  path: string;
  method: (typeof METHODS)[number];
  operationId: string;
}

export const operations: Operation[] = Object.entries(openApiDocument(app).paths ?? {}).flatMap(([path, item]) =>
  METHODS.flatMap((method) => {
    const op = (item as Record<string, { operationId: string } | undefined>)[method];
    return op ? [{ path, method, operationId: op.operationId }] : [];
  }),
);

/** The operations under `/v1/tenants/{tenant}`. */
export const tenantOperations = operations.filter((o) => o.path.startsWith('/v1/tenants/{tenant}'));
