import { createRouter } from '../../platform/http/router';
import * as handlers from './labels.handlers';
import * as routes from './labels.routes';

export const labelsRouter = createRouter()
  .openapi(routes.putLabel, handlers.putLabel)
  .openapi(routes.listLabels, handlers.listLabels)
  .openapi(routes.getLabel, handlers.getLabel)
  .openapi(routes.deleteLabel, handlers.deleteLabel);
