import { createRouter } from '../../platform/http/router';
import * as handlers from './toolstacks.handlers';
import * as routes from './toolstacks.routes';

export const toolstacksRouter = createRouter()
  .openapi(routes.createToolstack, handlers.createToolstack)
  .openapi(routes.listToolstacks, handlers.listToolstacks)
  .openapi(routes.getToolstack, handlers.getToolstack)
  .openapi(routes.revokeToolstack, handlers.revokeToolstack)
  .openapi(routes.patchToolstack, handlers.patchToolstack);
