import { createRouter } from '../../platform/http/router';
import * as handlers from './changes.handlers';
import * as routes from './changes.routes';

export const changesRouter = createRouter()
  .openapi(routes.listChanges, handlers.listChanges)
  .openapi(routes.getChange, handlers.getChange)
  .openapi(routes.approveChange, handlers.approveChange)
  .openapi(routes.denyChange, handlers.denyChange)
  .openapi(routes.cancelChange, handlers.cancelChange);
