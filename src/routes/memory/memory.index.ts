import { createRouter } from '../../http/router';
import * as handlers from './memory.handlers';
import * as routes from './memory.routes';

export const memoryRouter = createRouter()
  .openapi(routes.writeMemoryPages, handlers.writeMemoryPages)
  .openapi(routes.readMemoryPages, handlers.readMemoryPages)
  .openapi(routes.readMemoryPageVersion, handlers.readMemoryPageVersion);
