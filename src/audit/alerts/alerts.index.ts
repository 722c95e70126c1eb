import { createRouter } from '../../platform/http/router';
import * as handlers from './alerts.handlers';
import * as routes from './alerts.routes';

export const alertsRouter = createRouter()
  .openapi(routes.createAlert, handlers.createAlert)
  .openapi(routes.listAlerts, handlers.listAlerts)
  .openapi(routes.deleteAlert, handlers.deleteAlert)
  .openapi(routes.listDeliveries, handlers.listDeliveries);
