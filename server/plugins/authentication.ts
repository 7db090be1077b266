import { Elysia } from 'elysia';
import type { Database } from '../../db/client.ts';
import { type AccessCheckRecord, checkTenantAccess, type TenantActor } from '../../db/tenant.ts';
import { AppError } from '../errors.ts';
import type { Permission } from '../features/access/permissions.ts';
import type { ApiKeyResolver } from '../features/api-keys/service.ts';
import { type AuditWho, requestContext } from '../features/audit/record.ts';
import type { AccessTokens } from '../features/auth/access-tokens.ts';
import { requireLiveSession } from '../features/sessions/liveness.ts';
import { deferAccessCheck } from './deferred-access-check.ts';
import type { RateLimits } from './rate-limit.ts';

/**
 * Who is calling and what the route requires. The tenant comes from the token or key, never from the
 * request body or query. Passing the actor to a tenant door (`withTenant` and kin) makes Postgres check,
 * first in the same transaction, that the membership and session or key are live and the permission is
 * held (for a key: within its scopes too).
 */
export interface Actor extends TenantActor {
  permission: Permission | null;
  check: AccessCheckRecord;
  /** Who this is and where the request came from, for the audit entry of what the route changes. */
  who: AuditWho;
}

// The actor of each authenticated request, as soon as it is known (before its checks), so the error
// handler can record a refusal (`access.denied`) as its caller.
const requestActors = new WeakMap<Request, Actor>();

/** The authenticated caller of `request`, if the authentication macro got as far as knowing them. */
export const requestActor = (request: Request): Actor | undefined => requestActors.get(request);

/**
 * What a route needs of its caller:
 * - a permission (`'org:write'`): a live member holding it; checked by Postgres in the route's own
 *   request transaction, which the route must open with its actor (a route that never does fails);
 * - `true`: any live member of the tenant (token or key), checked here before the route runs;
 * - `'session'`: a signed-in person's live session (never an API key), checked here; for the routes
 *   that manage sign-ins themselves (sessions, logout, switching tenant) and for platform administration.
 */
export type AuthRequirement = true | 'session' | Permission;

export interface AuthDeps {
  database: Database;
  tokens: AccessTokens;
  apiKeys: ApiKeyResolver;
  rateLimits: RateLimits;
}

function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header.trim());
  return match?.[1] ?? null;
}

const outsideScopes = (permission: Permission) =>
  new AppError('forbidden', `This action needs the "${permission}" permission.`);

const sessionOnly = () =>
  new AppError('forbidden', 'This route is for signed-in people; API keys cannot use it.');

/**
 * `auth: <requirement>` on a route authenticates the caller before the body is validated, counts the
 * request against its rate limit, resolves `actor` for the handler and marks the route as secured in
 * OpenAPI. Whatever the requirement, an ended session or key, or a membership that is no longer active,
 * is refused with 401 before the handler does anything: the macro decides, not each route.
 */
export function authentication(deps: AuthDeps) {
  async function identify(authorization: string | undefined): Promise<{
    identity: Omit<TenantActor, 'permission'>;
    scopes?: readonly string[];
    actor: AuditWho['actor'];
  }> {
    const token = bearerToken(authorization);
    if (!token) {
      throw new AppError(
        'unauthorized',
        'Send an access token or API key as "Authorization: Bearer <token>".',
      );
    }
    if (token.startsWith('wr_')) {
      const key = await deps.apiKeys.resolve(token);
      if (!key) throw new AppError('unauthorized', 'The API key is invalid.');
      const { scopes, name, ...identity } = key;
      return { identity, scopes, actor: { type: 'api_key', id: key.apiKeyId, name } };
    }
    const claims = await deps.tokens.verify(token);
    if (!claims) throw new AppError('unauthorized', 'The access token is invalid or has expired.');
    const { name, ...identity } = claims;
    return { identity, actor: { type: 'user', id: claims.userId, name: name ?? null } };
  }

  async function authenticate(
    request: Request,
    requirement: AuthRequirement,
    authorization: string | undefined,
    responseHeaders: Record<string, string | number>,
    context: AuditWho['context'],
  ): Promise<Actor> {
    const { identity, scopes, actor: who } = await identify(authorization);
    const permission = requirement === true || requirement === 'session' ? null : requirement;
    const actor: Actor = {
      ...identity,
      permission,
      check: { ran: false, membershipPassed: false },
      who: { actor: who, context },
    };
    requestActors.set(request, actor);
    const { limiter, perApiKey, perTenant } = deps.rateLimits;
    if (actor.apiKeyId) await limiter.check(perApiKey, actor.apiKeyId, responseHeaders);
    else await limiter.check(perTenant, actor.tenantId, responseHeaders);
    if (requirement === 'session') {
      if (actor.apiKeyId) {
        await checkTenantAccess(deps.database, actor); // an ended key is a 401 first
        throw sessionOnly();
      }
      await requireLiveSession(deps.database, actor);
    } else if (requirement === true) {
      await checkTenantAccess(deps.database, actor);
    } else if (scopes && !scopes.includes(requirement)) {
      // Scopes never change, so a key without this one is refused before its body is even read (once
      // it is known to be live: a revoked key is a 401); Postgres checks the scope again in the door.
      await checkTenantAccess(deps.database, { ...actor, permission: null });
      throw outsideScopes(requirement);
    }
    return actor;
  }

  // Authentication runs in `transform`, before validation, so an anonymous caller learns nothing about
  // a route's body; `resolve` then hands the actor to the handler.
  const authenticated = new WeakMap<Request, Actor>();

  return new Elysia({ name: 'authentication' }).macro({
    auth(requirement: AuthRequirement) {
      return {
        detail: {
          security: [{ bearer: [] }],
          ...(typeof requirement === 'string' && requirement !== 'session'
            ? { 'x-permission': requirement }
            : {}),
          ...(requirement === 'session' ? { 'x-session-only': true } : {}),
        },
        async transform({ request, headers, set, server }) {
          const context = requestContext(request, server, deps.rateLimits.trustProxy);
          const actor = await authenticate(request, requirement, headers.authorization, set.headers, context);
          authenticated.set(request, actor);
          if (actor.permission) {
            deferAccessCheck(request, async () => {
              if (!actor.check.ran) await checkTenantAccess(deps.database, actor);
            });
          }
        },
        resolve({ request }) {
          const actor = authenticated.get(request);
          if (!actor) throw new Error('the authentication macro resolved no actor');
          return { actor };
        },
        afterHandle({ request }) {
          const actor = authenticated.get(request);
          // A permission is only ever checked by Postgres in a door opened with the actor: a route that
          // answered without opening one checked nothing, and must not pass unnoticed.
          if (actor?.permission && !actor.check.ran) {
            throw new Error(`${request.method} ${new URL(request.url).pathname} never checked its access`);
          }
        },
      };
    },
  });
}
