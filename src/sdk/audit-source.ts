/**
 * One log's audit routes as the offline verifier's `AuditSource`
 * (audit-verify.ts), through the typed client: the provider log
 * (`/v1/admin/audit/…`, auditors) or a tenant's (`/v1/tenants/{tenant}/audit/…`).
 */
import type { AuditSource } from './audit-verify.ts';
import type { ApiClient } from './client.ts';

export interface AuditLogApi extends Required<AuditSource> {
  inclusion(index: number, size: number): Promise<{ index: number; size: number; proof: string[] }>;
  /** The deployment statements of the provider log (`GET /v1/audit/deployments`), oldest first. */
  deployments(): Promise<{ index: number; jws: string }[]>;
}

/** `provider` or `tenants/<id>`. */
export function auditSource(api: ApiClient, log: string): AuditLogApi {
  const common = {
    logKey: async () => (await api.GET('/v1/audit/log-key', { parseAs: 'text' })).data!,
    jwks: async () => (await api.GET('/.well-known/jwks.json')).data!,
    keyHandovers: async () => (await api.GET('/v1/audit/key-handovers')).data!,
    deployments: async () => (await api.GET('/v1/audit/deployments')).data!.deployments,
  };
  if (log === 'provider') {
    return {
      ...common,
      checkpoint: async () => (await api.GET('/v1/admin/audit/checkpoint', { parseAs: 'text' })).data!,
      cosignedCheckpoint: async (cosignatures) =>
        (await api.GET('/v1/admin/audit/checkpoint/cosigned', { params: { query: { cosignatures } }, parseAs: 'text' })).data!,
      records: async (from, limit) => (await api.GET('/v1/admin/audit/records', { params: { query: { from, limit } } })).data!,
      consistency: async (from, to) => (await api.GET('/v1/admin/audit/proofs/consistency', { params: { query: { from, to } } })).data!,
      inclusion: async (index, size) => (await api.GET('/v1/admin/audit/proofs/inclusion', { params: { query: { index, size } } })).data!,
    };
  }
  const tenant = log.replace(/^tenants\//, '');
  const path = { tenant };
  return {
    ...common,
    checkpoint: async () => (await api.GET('/v1/tenants/{tenant}/audit/checkpoint', { params: { path }, parseAs: 'text' })).data!,
    cosignedCheckpoint: async (cosignatures) =>
      (await api.GET('/v1/tenants/{tenant}/audit/checkpoint/cosigned', { params: { path, query: { cosignatures } }, parseAs: 'text' })).data!,
    records: async (from, limit) => (await api.GET('/v1/tenants/{tenant}/audit/records', { params: { path, query: { from, limit } } })).data!,
    consistency: async (from, to) => (await api.GET('/v1/tenants/{tenant}/audit/proofs/consistency', { params: { path, query: { from, to } } })).data!,
    inclusion: async (index, size) => (await api.GET('/v1/tenants/{tenant}/audit/proofs/inclusion', { params: { path, query: { index, size } } })).data!,
  };
}
