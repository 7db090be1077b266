import { Elysia } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { authentication } from '../../plugins/authentication.ts';
import { ProblemModel } from '../shared-model.ts';
import type { AccessTokens } from './access-tokens.ts';
import { LoginBody, LoginResponse, MeResponse, SignupBody, SignupResponse } from './model.ts';
import { describeActor, signIn, signUp } from './service.ts';

export function authRoutes(deps: { database: Database; tokens: AccessTokens }) {
  const { database, tokens } = deps;
  return new Elysia({ name: 'auth-routes' })
    .use(authentication(deps))
    .post(
      '/v1/auth/signup',
      async ({ body, set }) => {
        const created = await signUp(database, body);
        const accessToken = await tokens.sign({ userId: created.user.id, tenantId: created.tenant.id });
        set.status = 201;
        return { ...created, accessToken, refreshToken: null, expiresIn: tokens.ttlSeconds };
      },
      {
        body: SignupBody,
        response: { 201: SignupResponse, 409: ProblemModel, 422: ProblemModel },
        detail: {
          tags: ['auth'],
          summary: 'Sign up',
          description: 'Creates a person, a tenant, its root organization and an owner membership.',
        },
      },
    )
    .post(
      '/v1/auth/login',
      async ({ body }) => {
        const signedIn = await signIn(database, body);
        const accessToken = await tokens.sign({ userId: signedIn.user.id, tenantId: signedIn.tenantId });
        return {
          accessToken,
          refreshToken: null,
          expiresIn: tokens.ttlSeconds,
          user: signedIn.user,
          tenants: signedIn.tenants,
        };
      },
      {
        body: LoginBody,
        response: { 200: LoginResponse, 401: ProblemModel, 403: ProblemModel, 422: ProblemModel },
        detail: { tags: ['auth'], summary: 'Sign in with email and password' },
      },
    )
    .get('/v1/me', ({ actor }) => describeActor(database, actor), {
      auth: true,
      response: { 200: MeResponse, 401: ProblemModel },
      detail: { tags: ['auth'], summary: 'The caller, their tenant, memberships, roles and permissions' },
    });
}
