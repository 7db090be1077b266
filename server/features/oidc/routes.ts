import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { AppError } from '../../errors.ts';
import { sessionClient } from '../../plugins/client-address.ts';
import type { RateLimits } from '../../plugins/rate-limit.ts';
import { limitAuthPerIp } from '../../plugins/rate-limit.ts';
import { requestContext } from '../audit/record.ts';
import type { AccessTokens } from '../auth/access-tokens.ts';
import { LoginResponse } from '../auth/model.ts';
import { chooseTenant, describeUser } from '../auth/service.ts';
import { type SessionPolicy, startSession, tokenPairFor } from '../sessions/service.ts';
import { ProblemModel } from '../shared-model.ts';
import { FLOW_COOKIE, type OidcSignIn } from './flow.ts';
import { OidcExchangeBody, OidcProviderList } from './model.ts';
import { issueSignInCode, landingTenant, linkPerson, spendSignInCode } from './service.ts';

/** The app page that finishes a provider sign-in (reads the fragment, trades the code for tokens). */
const LANDING_PATH = '/auth/oidc';

const ReturnTo = t.String({
  title: 'returnTo',
  maxLength: 2048,
  // A path in the app: never another origin (`//host`, `/\host`).
  pattern: '^/(?![/\\\\])[^\\s]*$',
  description: 'A path in the app to land on after signing in',
});

function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

function flowCookieHeader(value: string, options: { path: string; secure: boolean; maxAge: number }): string {
  // Lax: the provider sends the browser back with a top-level GET, which carries Lax cookies.
  return [
    `${FLOW_COOKIE}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

const wantsHtml = (request: Request) => (request.headers.get('accept') ?? '').includes('text/html');

export function oidcRoutes(deps: {
  database: Database;
  tokens: AccessTokens;
  sessionPolicy: SessionPolicy;
  rateLimits: RateLimits;
  appUrl: string;
  oidc: OidcSignIn;
}) {
  const { database, oidc, tokens, rateLimits } = deps;
  const limitPerIp = limitAuthPerIp(rateLimits);
  const appUrl = deps.appUrl.replace(/\/+$/, '');
  const cookie = oidc.cookieOptions();
  const clearFlow = flowCookieHeader('', { ...cookie, maxAge: 0 });

  const landing = (fragment: Record<string, string | undefined>) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(fragment)) if (value) params.set(name, value);
    return `${appUrl}${LANDING_PATH}#${params}`;
  };

  /**
   * A browser reaches start and callback by navigation: it is sent back to the app with the problem's
   * code in the fragment. Other clients get problem+json.
   */
  const answerProblem = (request: Request, error: unknown, headers: Record<string, string> = {}) => {
    if (error instanceof AppError && wantsHtml(request)) {
      return new Response(null, {
        status: 303,
        headers: { location: landing({ error: error.code, detail: error.detail }), ...headers },
      });
    }
    throw error;
  };

  return new Elysia({ name: 'oidc-routes' })
    .get('/v1/auth/oidc/providers', () => ({ items: oidc.providers() }), {
      response: {
        200: OidcProviderList,
      },
      detail: {
        tags: ['auth'],
        summary: 'OpenID Connect providers people can sign in with',
        description: 'Configured by OIDC_PROVIDERS; the app shows a button for each.',
      },
    })
    .get(
      '/v1/auth/oidc/:provider/start',
      async ({ params, query, request }) => {
        try {
          const started = await oidc.start(params.provider, query);
          return new Response(null, {
            status: 302,
            headers: {
              location: started.url,
              'set-cookie': flowCookieHeader(started.flowCookie, cookie),
              'cache-control': 'no-store',
            },
          });
        } catch (error) {
          return answerProblem(request, error);
        }
      },
      {
        beforeHandle: limitPerIp,
        params: t.Object({ provider: t.String({ maxLength: 64 }) }),
        query: t.Object({
          returnTo: t.Optional(ReturnTo),
          invitation: t.Optional(t.String({ title: 'invitation', maxLength: 256 })),
          tenantId: t.Optional(t.String({ title: 'tenantId', format: 'uuid' })),
        }),
        response: { 302: t.Void(), 404: ProblemModel, 422: ProblemModel, 503: ProblemModel },
        detail: {
          tags: ['auth'],
          summary: 'Start signing in with an OpenID Connect provider',
          description:
            'Redirects to the provider (authorization code flow with PKCE, state and nonce). `invitation` accepts an invitation on the way in; `tenantId` picks the tenant to land in.',
        },
      },
    )
    .get(
      '/v1/auth/oidc/:provider/callback',
      async ({ params, request, server }) => {
        const headers = { 'set-cookie': clearFlow, 'cache-control': 'no-store' };
        try {
          const query = new URL(request.url).searchParams;
          const { person, flow } = await oidc.finish(
            params.provider,
            query,
            readCookie(request, FLOW_COOKIE),
          );
          const { userId } = await linkPerson(database, person);
          const tenantId = await landingTenant(database, {
            userId,
            invitation: flow.invitation,
            tenantId: flow.tenantId,
            context: requestContext(request, server, rateLimits.trustProxy),
          });
          const code = await issueSignInCode(database, userId);
          const location = landing({ code, tenant: tenantId, returnTo: flow.returnTo });
          return new Response(null, { status: 303, headers: { location, ...headers } });
        } catch (error) {
          return answerProblem(request, error, headers);
        }
      },
      {
        beforeHandle: limitPerIp,
        params: t.Object({ provider: t.String({ maxLength: 64 }) }),
        response: {
          303: t.Void(),
          400: ProblemModel,
          403: ProblemModel,
          404: ProblemModel,
          503: ProblemModel,
        },
        detail: {
          tags: ['auth'],
          summary: 'Where the provider sends the browser back',
          description:
            'Checks state (against the browser’s own flow cookie), exchanges the code with the PKCE verifier, verifies the ID token (signature, issuer, audience, expiry, nonce), links or creates the account by verified email, then redirects to the app’s `/auth/oidc#code=…` (or `#error=<problem code>`). Clients asking for JSON get problem+json instead of the redirect.',
        },
      },
    )
    .post(
      '/v1/auth/oidc/exchange',
      async ({ body, request, server }) => {
        const userId = await spendSignInCode(database, body.code);
        const [user, landingIn] = await Promise.all([
          describeUser(database, userId),
          chooseTenant(database, userId, body.tenantId),
        ]);
        const session = await startSession(database, {
          userId,
          name: user.name,
          tenantId: landingIn.tenantId,
          policy: deps.sessionPolicy,
          client: sessionClient(request, server, rateLimits.trustProxy),
          audit: {
            context: requestContext(request, server, rateLimits.trustProxy),
            metadata: { method: 'oidc' },
          },
        });
        return {
          ...(await tokenPairFor(tokens, session)),
          user,
          tenants: landingIn.tenants,
        };
      },
      {
        beforeHandle: limitPerIp,
        body: OidcExchangeBody,
        response: { 200: LoginResponse, 401: ProblemModel, 403: ProblemModel, 422: ProblemModel },
        detail: {
          tags: ['auth'],
          summary: 'Trade a provider sign-in code for tokens',
          description:
            'The code from the callback redirect is single-use and valid for two minutes; the answer is the same as password sign-in.',
        },
      },
    );
}
