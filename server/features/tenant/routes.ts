import { Elysia } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { ProblemModel } from '../shared-model.ts';
import { TenantSettings, UpdateTenantBody } from './model.ts';
import { readTenantSettings, updateTenantSettings } from './service.ts';

const tags = ['tenant'];

export function tenantRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'tenant-routes', prefix: '/v1/tenant' })
    .use(authentication(deps))
    .get('', ({ actor }) => withTenant(database, actor, (db) => readTenantSettings(db, actor.tenantId)), {
      auth: true,
      response: { 200: TenantSettings, 401: ProblemModel },
      detail: { tags, summary: "The caller's tenant: name and branding" },
    })
    .patch(
      '',
      ({ actor, body }) =>
        withTenant(database, actor, (db) =>
          updateTenantSettings(db, { tenantId: actor.tenantId, ...body, who: actor.who }),
        ),
      {
        auth: 'tenant:manage',
        body: UpdateTenantBody,
        response: {
          200: TenantSettings,
          401: ProblemModel,
          403: ProblemModel,
          409: ProblemModel,
          422: ProblemModel,
        },
        detail: { tags, summary: 'Rename the tenant or change its branding (null clears a field)' },
      },
    );
}
