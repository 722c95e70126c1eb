import { createRouter } from '../../platform/http/router';
import * as handlers from './exposure.handlers';
import * as routes from './exposure.routes';

export const exposureRouter = createRouter().openapi(routes.exposureReport, handlers.exposureReport);
