import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant, withTenantAccessChange } from '../../../db/tenant.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { PageQuery, ProblemModel, problemsFor } from '../shared-model.ts';
import { MemberModel, MemberPage, MemberParams, UpdateMemberBody } from './model.ts';
import { listMembers, readMember, removeMember, updateMember } from './service.ts';

const tags = ['members'];

export function memberRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'member-routes', prefix: '/v1/members' })
    .use(authentication(deps))
    .get(
      '',
      ({ actor, query }) =>
        withTenant(database, actor, (db) =>
          listMembers(db, { limit: query.limit ?? 50, cursor: query.cursor }),
        ),
      {
        auth: 'members:read',
        query: PageQuery,
        response: { 200: MemberPage, 401: ProblemModel, 403: ProblemModel, 422: ProblemModel },
        detail: { tags, summary: 'Members of the tenant with their roles' },
      },
    )
    .patch(
      '/:userId',
      ({ actor, params, body }) =>
        withTenantAccessChange(database, actor, async (db) => {
          await updateMember(db, {
            tenantId: actor.tenantId,
            userId: params.userId,
            ...body,
            who: actor.who,
          });
          return readMember(db, params.userId);
        }),
      {
        auth: 'members:manage',
        params: MemberParams,
        body: UpdateMemberBody,
        response: {
          200: MemberModel,
          401: ProblemModel,
          403: ProblemModel,
          404: ProblemModel,
          409: ProblemModel,
          422: ProblemModel,
        },
        detail: {
          tags,
          summary:
            "Replace a member's tenant-wide roles, or suspend / reactivate them (effective on their next request)",
        },
      },
    )
    .delete(
      '/:userId',
      async ({ actor, params, set }) => {
        await withTenantAccessChange(database, actor, (db) =>
          removeMember(db, { tenantId: actor.tenantId, userId: params.userId, who: actor.who }),
        );
        set.status = 204;
      },
      {
        auth: 'members:manage',
        params: MemberParams,
        response: { 204: t.Void(), ...problemsFor(401, 403, 404, 409) },
        detail: { tags, summary: 'Remove a member (the last owner cannot be removed)' },
      },
    );
}
