import { createRouter } from '../../platform/http/router';
import * as handlers from './snapshots.handlers';
import * as routes from './snapshots.routes';

export const snapshotsRouter = createRouter()
  .openapi(routes.createSnapshot, handlers.createSnapshot)
  .openapi(routes.listSnapshots, handlers.listSnapshots)
  .openapi(routes.getSnapshot, handlers.getSnapshot)
  .openapi(routes.restoreSnapshot, handlers.restoreSnapshot);
