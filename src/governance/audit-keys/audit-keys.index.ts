import { createRouter } from '../../platform/http/router';
import * as handlers from './audit-keys.handlers';
import * as routes from './audit-keys.routes';

export const auditKeysRouter = createRouter().openapi(routes.proposeAuditKey, handlers.proposeAuditKey);
