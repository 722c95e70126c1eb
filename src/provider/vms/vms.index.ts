import { createRouter } from '../../platform/http/router';
import * as handlers from './vms.handlers';
import * as routes from './vms.routes';

export const vmsRouter = createRouter()
  .openapi(routes.createVm, handlers.createVm)
  .openapi(routes.listVms, handlers.listVms)
  .openapi(routes.getVm, handlers.getVm)
  .openapi(routes.patchVm, handlers.patchVm)
  .openapi(routes.deleteVm, handlers.deleteVm)
  .openapi(routes.migrateVm, handlers.migrateVm);
