import { METADATA_READERS } from '../../auth/roles';
import { jsonContent } from '../../platform/http/responses';
import { adminRoute } from '../../http/route-factories';
import { DatabaseListSchema } from './databases.schemas';

export const listDatabases = adminRoute({
  operationId: 'listDatabases',
  action: 'database.list',
  method: 'get',
  path: '/admin/databases',
  tags: ['databases'],
  summary: "How full the provider's D1 databases are",
  description:
    "Each D1 database this deployment writes: what it holds, its tenants and VMs, and its size against D1's 10 GB limit per database. One database holds everything today; docs/decisions.md says how tenants will move to shards.",
  roles: METADATA_READERS,
  responses: { 200: jsonContent(DatabaseListSchema, "Every database, the provider's first.") },
});
