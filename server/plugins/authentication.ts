import { Elysia } from 'elysia';
import type { TenantActor } from '../../db/tenant.ts';
import { AppError } from '../errors.ts';
import type { Permission } from '../features/access/permissions.ts';
import type { AccessTokens } from '../features/auth/access-tokens.ts';

/**
 * Who is calling and what the route requires. The tenant comes from the token, never from the request
 * body or query. Passing the actor to a tenant door (`withTenant` and kin) makes Postgres check, first
 * in the same transaction, that the membership and session are live and the permission is held.
 */
export interface Actor extends TenantActor {
  permission: Permission | null;
}

function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header.trim());
  return match?.[1] ?? null;
}

/**
 * `auth: true` on a route requires a valid access token of a live member; `auth: 'org:write'` also
 * requires that permission. Both resolve `actor` for the handler and mark the route as secured in
 * OpenAPI. The membership, session and permission are checked by the database on the request's own
 * transaction (decision 0007), so a role change or removal applies to the very next request.
 */
export function authentication(deps: { tokens: AccessTokens }) {
  async function authenticate(authorization: string | undefined) {
    const token = bearerToken(authorization);
    if (!token)
      throw new AppError('unauthorized', 'Send an access token as "Authorization: Bearer <token>".');
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
        async resolve({ headers }) {
          const claims = await authenticate(headers.authorization);
          const actor: Actor = { ...claims, permission: requirement === true ? null : requirement };
          return { actor };
        },
      };
    },
  });
}
