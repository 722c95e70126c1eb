import { createRouter } from '../../platform/http/router';
import * as handlers from './disks.handlers';
import * as routes from './disks.routes';

export const disksRouter = createRouter()
  .openapi(routes.createDisk, handlers.createDisk)
  .openapi(routes.listDisks, handlers.listDisks)
  .openapi(routes.getDisk, handlers.getDisk)
  .openapi(routes.deleteDisk, handlers.deleteDisk)
  .openapi(routes.attachDisk, handlers.attachDisk)
  .openapi(routes.detachDisk, handlers.detachDisk);
