import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { AppError } from '../../errors.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { limitAuthPerIp } from '../../plugins/rate-limit.ts';
import { requestContext } from '../audit/record.ts';
import { describeTenant } from '../auth/service.ts';
import { ProblemModel } from '../shared-model.ts';
import {
  RefreshBody,
  SessionList,
  SessionParams,
  SwitchTenantBody,
  SwitchTenantResponse,
  TokenPair,
} from './model.ts';
import {
  endSession,
  listSessions,
  rotateRefreshToken,
  type SessionPolicy,
  switchSessionTenant,
  tokenPairFor,
} from './service.ts';

const tags = ['sessions'];

function requireSession(actor: { sessionId?: string }): string {
  if (!actor.sessionId) throw new AppError('unauthorized', 'This token does not belong to a session.');
  return actor.sessionId;
}

export function sessionRoutes(deps: AuthDeps & { database: Database; sessionPolicy: SessionPolicy }) {
  const { database, tokens, sessionPolicy: policy, rateLimits } = deps;
  return new Elysia({ name: 'session-routes' })
    .use(authentication(deps))
    .post(
      '/v1/auth/refresh',
      async ({ body, request, server }) => {
        const issued = await rotateRefreshToken(database, {
          refreshToken: body.refreshToken,
          policy,
          context: requestContext(request, server, rateLimits.trustProxy),
        });
        return {
          ...(await tokenPairFor(tokens, issued)),
        };
      },
      {
        // Refresh tokens are guessable by nobody, but the endpoint is public: count it per client IP.
        beforeHandle: limitAuthPerIp(rateLimits),
        body: RefreshBody,
        response: { 200: TokenPair, 401: ProblemModel, 422: ProblemModel },
        detail: {
          tags,
          summary: 'Exchange a refresh token for a new pair',
          description: 'Each refresh token works once. Presenting a spent one revokes the whole session.',
        },
      },
    )
    .post(
      '/v1/auth/logout',
      async ({ actor, set }) => {
        await endSession(database, {
          sessionId: requireSession(actor),
          userId: actor.userId,
          reason: 'logout',
          who: actor.who,
        });
        set.status = 204;
      },
      {
        auth: 'session',
        response: { 204: t.Void(), 401: ProblemModel, 404: ProblemModel },
        detail: { tags, summary: 'End the current session (its refresh tokens stop working)' },
      },
    )
    .post(
      '/v1/auth/switch-tenant',
      async ({ actor, body }) => {
        const issued = await switchSessionTenant(database, {
          sessionId: requireSession(actor),
          userId: actor.userId,
          tenantId: body.tenantId,
          policy,
          who: actor.who,
        });
        return {
          ...(await tokenPairFor(tokens, issued)),
          tenant: await describeTenant(database, { userId: actor.userId, tenantId: body.tenantId }),
        };
      },
      {
        auth: 'session',
        body: SwitchTenantBody,
        response: { 200: SwitchTenantResponse, 401: ProblemModel, 403: ProblemModel, 422: ProblemModel },
        detail: { tags, summary: 'Move the session to another tenant the caller belongs to' },
      },
    )
    .get(
      '/v1/auth/sessions',
      async ({ actor }) => ({
        items: await listSessions(database, { userId: actor.userId, currentSessionId: actor.sessionId }),
        nextCursor: null,
      }),
      {
        auth: 'session',
        response: { 200: SessionList, 401: ProblemModel },
        detail: { tags, summary: "The caller's active sessions, most recently used first" },
      },
    )
    .delete(
      '/v1/auth/sessions/:id',
      async ({ actor, params, set }) => {
        await endSession(database, {
          sessionId: params.id,
          userId: actor.userId,
          reason: 'revoked',
          who: actor.who,
        });
        set.status = 204;
      },
      {
        auth: 'session',
        params: SessionParams,
        response: { 204: t.Void(), 401: ProblemModel, 404: ProblemModel },
        detail: { tags, summary: "Revoke one of the caller's sessions (another device, say)" },
      },
    );
}
