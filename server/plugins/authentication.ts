import { Elysia } from 'elysia';
import type { TenantActor } from '../../db/tenant.ts';
import { AppError } from '../errors.ts';
import type { Permission } from '../features/access/permissions.ts';
import type { ApiKeyResolver } from '../features/api-keys/service.ts';
import type { AccessTokens } from '../features/auth/access-tokens.ts';
import type { RateLimits } from './rate-limit.ts';

/**
 * Who is calling and what the route requires. The tenant comes from the token or key, never from the
 * request body or query. Passing the actor to a tenant door (`withTenant` and kin) makes Postgres check,
 * first in the same transaction, that the membership and session or key are live and the permission is
 * held (for a key: within its scopes too).
 */
export interface Actor extends TenantActor {
  permission: Permission | null;
}

export interface AuthDeps {
  tokens: AccessTokens;
  apiKeys: ApiKeyResolver;
  rateLimits: RateLimits;
}

function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header.trim());
  return match?.[1] ?? null;
}

/**
 * `auth: true` on a route requires a valid access token or API key of a live member; `auth: 'org:write'`
 * also requires that permission. Both resolve `actor` for the handler and mark the route as secured in
 * OpenAPI. Membership, session or key, and permission are checked by the database on the request's own
 * transaction (decision 0007), so a role change, removal or revocation applies to the very next request.
 */
export function authentication(deps: AuthDeps) {
  async function authenticate(authorization: string | undefined): Promise<Omit<TenantActor, 'permission'>> {
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
      return key;
    }
    const claims = await deps.tokens.verify(token);
    if (!claims) throw new AppError('unauthorized', 'The access token is invalid or has expired.');
    return claims;
  }

  return new Elysia({ name: 'authentication' }).macro({
    auth(requirement: true | Permission) {
      return {
        detail: {
          security: [{ bearer: [] }],
          ...(requirement === true ? {} : { 'x-permission': requirement }),
        },
        async resolve({ headers, set }) {
          const identity = await authenticate(headers.authorization);
          const { limiter, perApiKey, perTenant } = deps.rateLimits;
          if (identity.apiKeyId) await limiter.check(perApiKey, identity.apiKeyId, set.headers);
          else await limiter.check(perTenant, identity.tenantId, set.headers);
          const actor: Actor = { ...identity, permission: requirement === true ? null : requirement };
          return { actor };
        },
      };
    },
  });
}
