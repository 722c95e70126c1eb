import { createRouter } from '../../platform/http/router';
import * as handlers from './audit.handlers';
import { AuditRecordSchema } from './record.schemas';
import { deployments, keyHandovers, witnesses, tenantStream, logKey, providerAudit, recordSigningKeys, tenantAudit } from './audit.routes';

export const auditRouter = createRouter()
  .openapi(logKey, handlers.getLogKey)
  .openapi(keyHandovers, handlers.listKeyHandovers)
  .openapi(witnesses, handlers.listWitnesses)
  .openapi(deployments, handlers.listDeployments);
auditRouter.openapi(tenantStream, handlers.streamAuditLog);
// The records' payload: referenced from their JWS (`x-custodes-payload`), so registered by name.
auditRouter.openAPIRegistry.register('AuditRecord', AuditRecordSchema);
for (const routes of [tenantAudit, providerAudit]) {
  auditRouter
    .openapi(routes.checkpoint, handlers.getCheckpoint)
    .openapi(routes.cosigned, handlers.getCosignedCheckpoint)
    .openapi(routes.records, handlers.listAuditRecords)
    .openapi(routes.inclusion, handlers.getInclusionProof)
    .openapi(routes.consistency, handlers.getConsistencyProof)
    .openapi(routes.receipt, handlers.openAuditReceipt);
}

/** Served at the origin's root, beside /v1. */
export const wellKnownRouter = createRouter().openapi(recordSigningKeys, handlers.getRecordSigningKeys);
