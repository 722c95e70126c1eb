import { createRouter } from '../../platform/http/router';
import * as handlers from './access-requests.handlers';
import * as routes from './access-requests.routes';

export const accessRequestsRouter = createRouter()
  .openapi(routes.fileAccessRequest, handlers.fileAccessRequest)
  .openapi(routes.listAccessRequests, handlers.listAccessRequests)
  .openapi(routes.getAccessRequest, handlers.getAccessRequest)
  .openapi(routes.useAccessRequest, handlers.useAccessRequest)
  .openapi(routes.approveAsSecondAdmin, handlers.approveAsSecondAdmin)
  .openapi(routes.denyAsSecondAdmin, handlers.denyAsSecondAdmin)
  .openapi(routes.unsealAccessRequest, handlers.unsealAccessRequest)
  .openapi(routes.tenantAccessRequests, handlers.tenantAccessRequests)
  .openapi(routes.tenantAccessRequest, handlers.tenantAccessRequest)
  .openapi(routes.approveAccessRequest, handlers.approveAccessRequest)
  .openapi(routes.denyAccessRequest, handlers.denyAccessRequest);
