import { Elysia } from 'elysia';
import type { Database } from '../../../db/client.ts';
import type { Logger } from '../../logger.ts';
import type { Mailer } from '../../mail/mailer.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { sessionClient } from '../../plugins/client-address.ts';
import { limitAuthPerIp } from '../../plugins/rate-limit.ts';
import { accountMail } from '../account/mail.ts';
import { issueEmailToken } from '../account/service.ts';
import { requestContext } from '../audit/record.ts';
import { type SessionPolicy, startSession, tokenPairFor } from '../sessions/service.ts';
import { ProblemModel } from '../shared-model.ts';
import { LoginBody, LoginResponse, MeResponse, SignupBody, SignupResponse } from './model.ts';
import { describeActor, signIn, signUp } from './service.ts';

export function authRoutes(
  deps: AuthDeps & {
    database: Database;
    sessionPolicy: SessionPolicy;
    mailer: Mailer;
    appUrl: string;
    logger: Logger;
  },
) {
  const { database, tokens, sessionPolicy: policy, rateLimits } = deps;
  const mail = accountMail(deps);
  /** Sign-up and sign-in are counted per client IP, against password guessing and sign-up floods. */
  const limitPerIp = limitAuthPerIp(rateLimits);
  return new Elysia({ name: 'auth-routes' })
    .use(authentication(deps))
    .post(
      '/v1/auth/signup',
      async ({ body, set, request, server }) => {
        const { session, ...created } = await signUp(database, body, {
          policy,
          client: sessionClient(request, server, rateLimits.trustProxy),
          context: requestContext(request, server, rateLimits.trustProxy),
        });
        // The confirmation mail goes out in the background: a slow relay must not slow sign-up down.
        void issueEmailToken(database, { purpose: 'verify-email', userId: created.user.id })
          .then((issued) => issued && mail.verification(issued.email, issued.token))
          .catch((error: unknown) => deps.logger.error({ err: error }, 'confirmation mail failed'));
        set.status = 201;
        return {
          ...created,
          ...(await tokenPairFor(tokens, session)),
        };
      },
      {
        beforeHandle: limitPerIp,
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
      async ({ body, request, server }) => {
        const context = requestContext(request, server, rateLimits.trustProxy);
        const signedIn = await signIn(database, body, context);
        const session = await startSession(database, {
          userId: signedIn.user.id,
          name: signedIn.user.name,
          tenantId: signedIn.tenantId,
          policy,
          client: sessionClient(request, server, rateLimits.trustProxy),
          audit: { context, metadata: { method: 'password' } },
        });
        return {
          ...(await tokenPairFor(tokens, session)),
          user: signedIn.user,
          tenants: signedIn.tenants,
        };
      },
      {
        beforeHandle: limitPerIp,
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
