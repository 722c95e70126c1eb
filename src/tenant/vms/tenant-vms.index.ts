import { createRouter } from '../../platform/http/router';
import * as handlers from './tenant-vms.handlers';
import * as routes from './tenant-vms.routes';

export const tenantVmsRouter = createRouter()
  .openapi(routes.listTenantVms, handlers.listTenantVms)
  .openapi(routes.createTenantVm, handlers.createTenantVm)
  .openapi(routes.getTenantVm, handlers.getTenantVm)
  .openapi(routes.startTenantVm, handlers.startTenantVm)
  .openapi(routes.stopTenantVm, handlers.stopTenantVm)
  .openapi(routes.pauseTenantVm, handlers.pauseTenantVm);
