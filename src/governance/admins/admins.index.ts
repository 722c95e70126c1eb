import { createRouter } from '../../platform/http/router';
import * as handlers from './admins.handlers';
import * as routes from './admins.routes';

export const adminsRouter = createRouter()
  .openapi(routes.registerAdmin, handlers.registerAdmin)
  .openapi(routes.listAdmins, handlers.listAdmins)
  .openapi(routes.getAdmin, handlers.getAdmin)
  .openapi(routes.setAdminRoles, handlers.setAdminRoles)
  .openapi(routes.disableAdmin, handlers.disableAdmin)
  .openapi(routes.reenableBootstrapAdmin, handlers.reenableBootstrapAdmin);
