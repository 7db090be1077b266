import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { requireAccess, withTenant, withTenantAccessChange } from '../../../db/tenant.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { PageQuery, ProblemModel, problemsFor } from '../shared-model.ts';
import {
  CreateOrganizationBody,
  OrganizationModel,
  OrganizationPage,
  OrganizationParams,
  UpdateOrganizationBody,
} from './model.ts';
import {
  createOrganization,
  deleteOrganization,
  listOrganizations,
  readOrganization,
  updateOrganization,
} from './service.ts';

const tags = ['organizations'];

export function organizationRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'organization-routes', prefix: '/v1/organizations' })
    .use(authentication(deps))
    .get(
      '',
      ({ actor, query }) =>
        listOrganizations(database, actor, { limit: query.limit ?? 50, cursor: query.cursor }),
      {
        auth: 'org:read',
        query: PageQuery,
        response: { 200: OrganizationPage, 401: ProblemModel, 422: ProblemModel },
        detail: { tags, summary: "List the tenant's organizations (oldest first)" },
      },
    )
    .post(
      '',
      async ({ actor, body, set }) => {
        // Creating under a parent needs org:write there (or above); a root organization, tenant-wide.
        const organization = await withTenant(
          database,
          { ...actor, organizationId: body.parentId ?? undefined },
          (db) =>
            createOrganization(db, {
              tenantId: actor.tenantId,
              name: body.name,
              parentId: body.parentId,
              who: actor.who,
            }),
        );
        set.status = 201;
        return organization;
      },
      {
        auth: 'org:write',
        body: CreateOrganizationBody,
        response: { 201: OrganizationModel, 401: ProblemModel, 403: ProblemModel, 422: ProblemModel },
        detail: { tags, summary: 'Create an organization, optionally under a parent' },
      },
    )
    .get(
      '/:id',
      ({ actor, params }) => readOrganization(database, { ...actor, organizationId: params.id }, params.id),
      {
        auth: 'org:read',
        params: OrganizationParams,
        response: { 200: OrganizationModel, 401: ProblemModel, 404: ProblemModel },
        detail: { tags, summary: 'Get an organization' },
      },
    )
    .patch(
      '/:id',
      ({ actor, params, body }) =>
        // A move changes which organization-scoped grants reach the subtree; a rename changes no access.
        (body.parentId === undefined ? withTenant : withTenantAccessChange)(
          database,
          { ...actor, organizationId: params.id },
          async (db) => {
            // Moving also needs org:write on the new parent.
            if (body.parentId) await requireAccess(db, 'org:write', body.parentId);
            return updateOrganization(db, {
              tenantId: actor.tenantId,
              id: params.id,
              ...body,
              who: actor.who,
            });
          },
        ),
      {
        auth: 'org:write',
        params: OrganizationParams,
        body: UpdateOrganizationBody,
        response: {
          200: OrganizationModel,
          401: ProblemModel,
          403: ProblemModel,
          404: ProblemModel,
          422: ProblemModel,
        },
        detail: { tags, summary: 'Rename or move an organization (cycles are rejected)' },
      },
    )
    .delete(
      '/:id',
      async ({ actor, params, set }) => {
        await withTenant(database, { ...actor, organizationId: params.id }, (db) =>
          deleteOrganization(db, { tenantId: actor.tenantId, id: params.id, who: actor.who }),
        );
        set.status = 204;
      },
      {
        auth: 'org:write',
        params: OrganizationParams,
        response: { 204: t.Void(), ...problemsFor(401, 403, 404, 409) },
        detail: { tags, summary: 'Delete an organization that has no children' },
      },
    );
}
