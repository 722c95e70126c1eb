import { createRouter } from '../../platform/http/router';
import * as handlers from './rotations.handlers';
import * as routes from './rotations.routes';

export const rotationsRouter = createRouter().openapi(routes.recordRotation, handlers.recordRotation);
