import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant, withTenantAccessChange } from '../../../db/tenant.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { ProblemModel } from '../shared-model.ts';
import { ApiKeyList, ApiKeyParams, CreateApiKeyBody, CreatedApiKey } from './model.ts';
import { createApiKey, listApiKeys, revokeApiKey } from './service.ts';

const tags = ['api-keys'];

export function apiKeyRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'api-key-routes', prefix: '/v1/api-keys' })
    .use(authentication(deps))
    .get(
      '',
      async ({ actor }) => ({ items: await withTenant(database, actor, listApiKeys), nextCursor: null }),
      {
        auth: 'api-keys:manage',
        response: { 200: ApiKeyList, 401: ProblemModel, 403: ProblemModel },
        detail: { tags, summary: "The tenant's active API keys (secrets are never shown again)" },
      },
    )
    .post(
      '',
      async ({ actor, body, set }) => {
        const created = await withTenant(database, actor, (db) =>
          createApiKey(db, {
            tenantId: actor.tenantId,
            createdBy: actor.userId,
            viaApiKeyId: actor.apiKeyId,
            ...body,
            who: actor.who,
          }),
        );
        set.status = 201;
        return created;
      },
      {
        auth: 'api-keys:manage',
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey, 401: ProblemModel, 403: ProblemModel, 422: ProblemModel },
        detail: {
          tags,
          summary: 'Create an API key (the secret is in this answer only)',
          description:
            "A key acts as its creator, limited to its scopes: scopes ∩ the creator's current permissions.",
        },
      },
    )
    .delete(
      '/:id',
      async ({ actor, params, set }) => {
        await withTenantAccessChange(database, actor, (db) =>
          revokeApiKey(db, { tenantId: actor.tenantId, id: params.id, who: actor.who }),
        );
        set.status = 204;
      },
      {
        auth: 'api-keys:manage',
        params: ApiKeyParams,
        response: { 204: t.Void(), 401: ProblemModel, 403: ProblemModel, 404: ProblemModel },
        detail: { tags, summary: 'Revoke an API key (effective on its next request)' },
      },
    );
}
