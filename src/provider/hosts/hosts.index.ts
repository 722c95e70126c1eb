import { createRouter } from '../../platform/http/router';
import * as handlers from './hosts.handlers';
import * as routes from './hosts.routes';

export const hostsRouter = createRouter()
  .openapi(routes.createHost, handlers.createHost)
  .openapi(routes.listHosts, handlers.listHosts)
  .openapi(routes.getHost, handlers.getHost)
  .openapi(routes.patchHost, handlers.patchHost)
  .openapi(routes.deleteHost, handlers.deleteHost)
  .openapi(routes.drainHost, handlers.drainHost);
