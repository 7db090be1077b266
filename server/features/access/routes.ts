import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant, withTenantAccessChange } from '../../../db/tenant.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { ProblemModel, problemsFor } from '../shared-model.ts';
import { CreateRoleBody, PermissionList, RoleList, RoleModel, RoleParams, UpdateRoleBody } from './model.ts';
import { permissionCatalog } from './permissions.ts';
import { createRole, deleteRole, listRoles, updateRole } from './roles.ts';

const tags = ['access'];

export function accessRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'access-routes' })
    .use(authentication(deps))
    .get(
      '/v1/permissions',
      () => ({
        items: Object.entries(permissionCatalog).map(([key, description]) => ({ key, description })),
      }),
      {
        auth: true,
        response: { 200: PermissionList, 401: ProblemModel },
        detail: { tags, summary: 'The permission catalog' },
      },
    )
    .get(
      '/v1/roles',
      async ({ actor }) => ({ items: await withTenant(database, actor, listRoles), nextCursor: null }),
      {
        auth: 'members:read',
        response: { 200: RoleList, 401: ProblemModel, 403: ProblemModel },
        detail: { tags, summary: 'Built-in and custom roles of the tenant' },
      },
    )
    .post(
      '/v1/roles',
      async ({ actor, body, set }) => {
        const role = await withTenant(database, actor, (db) =>
          createRole(db, { tenantId: actor.tenantId, ...body, who: actor.who }),
        );
        set.status = 201;
        return role;
      },
      {
        auth: 'roles:manage',
        body: CreateRoleBody,
        response: {
          201: RoleModel,
          401: ProblemModel,
          403: ProblemModel,
          409: ProblemModel,
          422: ProblemModel,
        },
        detail: { tags, summary: 'Create a custom role' },
      },
    )
    .patch(
      '/v1/roles/:id',
      ({ actor, params, body }) =>
        withTenantAccessChange(database, actor, (db) =>
          updateRole(db, { tenantId: actor.tenantId, id: params.id, ...body, who: actor.who }),
        ),
      {
        auth: 'roles:manage',
        params: RoleParams,
        body: UpdateRoleBody,
        response: {
          200: RoleModel,
          401: ProblemModel,
          403: ProblemModel,
          404: ProblemModel,
          409: ProblemModel,
        },
        detail: {
          tags,
          summary:
            'Rename a custom role or change its permissions (applies to its members on their next request)',
        },
      },
    )
    .delete(
      '/v1/roles/:id',
      async ({ actor, params, set }) => {
        await withTenantAccessChange(database, actor, (db) =>
          deleteRole(db, { tenantId: actor.tenantId, id: params.id, who: actor.who }),
        );
        set.status = 204;
      },
      {
        auth: 'roles:manage',
        params: RoleParams,
        response: { 204: t.Void(), ...problemsFor(401, 403, 404, 409) },
        detail: { tags, summary: 'Delete a custom role nobody holds' },
      },
    );
}
