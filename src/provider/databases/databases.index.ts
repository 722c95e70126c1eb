import { createRouter } from '../../platform/http/router';
import * as handlers from './databases.handlers';
import * as routes from './databases.routes';

export const databasesRouter = createRouter().openapi(routes.listDatabases, handlers.listDatabases);
