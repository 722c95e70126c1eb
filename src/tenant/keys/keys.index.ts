import { createRouter } from '../../platform/http/router';
import * as handlers from './keys.handlers';
import * as routes from './keys.routes';

export const keysRouter = createRouter()
  .openapi(routes.storeWrappedKey, handlers.storeWrappedKey)
  .openapi(routes.listWrappedKeys, handlers.listWrappedKeys)
  .openapi(routes.getWrappedKey, handlers.getWrappedKey)
  .openapi(routes.deleteWrappedKey, handlers.deleteWrappedKey);
