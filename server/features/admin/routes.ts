import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withPlatformAdmin } from '../../../db/tenant.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { PageQuery, ProblemModel, Timestamp, Uuid } from '../shared-model.ts';
import { listAllTenants, setTenantStatus } from './service.ts';

const tags = ['admin'];

const AdminTenant = t.Object({
  id: Uuid,
  name: t.String(),
  slug: t.String(),
  status: t.Union([t.Literal('active'), t.Literal('suspended')]),
  memberCount: t.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export function adminRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'admin-routes', prefix: '/v1/admin' })
    .use(authentication(deps))
    .get(
      '/tenants',
      ({ actor, query }) =>
        withPlatformAdmin(database, actor.userId, (db) =>
          listAllTenants(db, { limit: query.limit ?? 50, cursor: query.cursor, sessionId: actor.sessionId }),
        ),
      {
        auth: true,
        query: PageQuery,
        response: {
          200: t.Object({ items: t.Array(AdminTenant), nextCursor: t.Union([Uuid, t.Null()]) }),
          401: ProblemModel,
          403: ProblemModel,
        },
        detail: { tags, summary: 'Every tenant (platform administrators only)' },
      },
    )
    .patch(
      '/tenants/:id',
      async ({ actor, params, body }) => {
        const tenant = await withPlatformAdmin(database, actor.userId, (db) =>
          setTenantStatus(db, {
            adminUserId: actor.userId,
            sessionId: actor.sessionId,
            tenantId: params.id,
            status: body.status,
          }),
        );
        // A suspension stops the tenant's tokens and keys on their next request, remembered checks too.
        await database.invalidateAccess([params.id]);
        return tenant;
      },
      {
        auth: true,
        params: t.Object({ id: Uuid }),
        body: t.Object(
          { status: t.Union([t.Literal('active'), t.Literal('suspended')]) },
          { additionalProperties: false },
        ),
        response: {
          200: AdminTenant,
          401: ProblemModel,
          403: ProblemModel,
          404: ProblemModel,
          422: ProblemModel,
        },
        detail: { tags, summary: 'Suspend or reactivate a tenant (platform administrators only; recorded)' },
      },
    );
}
