import { createRouter } from '../../platform/http/router';
import * as handlers from './tenants.handlers';
import * as routes from './tenants.routes';

export const tenantsRouter = createRouter()
  .openapi(routes.createTenant, handlers.createTenant)
  .openapi(routes.listTenants, handlers.listTenants)
  .openapi(routes.getTenant, handlers.getTenant)
  .openapi(routes.patchTenant, handlers.patchTenant)
  .openapi(routes.deleteTenant, handlers.deleteTenant);
