import { Elysia } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import { authentication } from '../../plugins/authentication.ts';
import type { AccessTokens } from '../auth/access-tokens.ts';
import { PageQuery, ProblemModel } from '../shared-model.ts';
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

export function organizationRoutes(deps: { database: Database; tokens: AccessTokens }) {
  const { database } = deps;
  return new Elysia({ name: 'organization-routes', prefix: '/v1/organizations' })
    .use(authentication(deps))
    .get(
      '',
      ({ actor, query }) =>
        listOrganizations(database, actor.tenantId, { limit: query.limit ?? 50, cursor: query.cursor }),
      {
        auth: true,
        query: PageQuery,
        response: { 200: OrganizationPage, 401: ProblemModel, 422: ProblemModel },
        detail: { tags, summary: "List the tenant's organizations (oldest first)" },
      },
    )
    .post(
      '',
      async ({ actor, body, set }) => {
        const organization = await withTenant(database, actor.tenantId, (db) =>
          createOrganization(db, { tenantId: actor.tenantId, name: body.name, parentId: body.parentId }),
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
    .get('/:id', ({ actor, params }) => readOrganization(database, actor.tenantId, params.id), {
      auth: true,
      params: OrganizationParams,
      response: { 200: OrganizationModel, 401: ProblemModel, 404: ProblemModel },
      detail: { tags, summary: 'Get an organization' },
    })
    .patch(
      '/:id',
      ({ actor, params, body }) =>
        withTenant(database, actor.tenantId, (db) =>
          updateOrganization(db, { tenantId: actor.tenantId, id: params.id, ...body }),
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
        await withTenant(database, actor.tenantId, (db) =>
          deleteOrganization(db, { tenantId: actor.tenantId, id: params.id }),
        );
        set.status = 204;
      },
      {
        auth: 'org:write',
        params: OrganizationParams,
        response: { 401: ProblemModel, 403: ProblemModel, 404: ProblemModel, 409: ProblemModel },
        detail: { tags, summary: 'Delete an organization that has no children' },
      },
    );
}
