import { createRouter } from '../../platform/http/router';
import * as handlers from './access-policy.handlers';
import * as routes from './access-policy.routes';

export const accessPolicyRouter = createRouter()
  .openapi(routes.getAccessPolicy, handlers.getAccessPolicy)
  .openapi(routes.putAccessPolicy, handlers.putAccessPolicy);
