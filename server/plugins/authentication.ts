import { and, eq } from 'drizzle-orm';
import { Elysia } from 'elysia';
import type { Database } from '../../db/client.ts';
import { memberships } from '../../db/schema/index.ts';
import { withTenant } from '../../db/tenant.ts';
import { AppError } from '../errors.ts';
import { type Permission, permissionsOf } from '../features/access/permissions.ts';
import type { AccessTokens } from '../features/auth/access-tokens.ts';

/** Who is calling. The tenant comes from the token, never from the request body or query. */
export interface Actor {
  userId: string;
  tenantId: string;
  sessionId?: string;
}

function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header.trim());
  return match?.[1] ?? null;
}

/**
 * `auth: true` on a route requires a valid access token; `auth: 'org:write'` also requires that
 * permission. Both resolve `actor` for the handler and mark the route as secured in OpenAPI.
 */
export function authentication(deps: { tokens: AccessTokens; database: Database }) {
  async function authenticate(authorization: string | undefined): Promise<Actor> {
    const token = bearerToken(authorization);
    if (!token)
      throw new AppError('unauthorized', 'Send an access token as "Authorization: Bearer <token>".');
    const claims = await deps.tokens.verify(token);
    if (!claims) throw new AppError('unauthorized', 'The access token is invalid or has expired.');
    return claims;
  }

  async function authorize(actor: Actor, permission: Permission): Promise<void> {
    const membership = await withTenant(deps.database, actor.tenantId, async (db) => {
      const [row] = await db
        .select({ role: memberships.role, status: memberships.status })
        .from(memberships)
        .where(and(eq(memberships.tenantId, actor.tenantId), eq(memberships.userId, actor.userId)));
      return row;
    });
    if (membership?.status !== 'active') throw new AppError('forbidden', 'No active membership.');
    if (!permissionsOf(membership.role).includes(permission)) {
      throw new AppError('forbidden', `This action needs the "${permission}" permission.`);
    }
  }

  return new Elysia({ name: 'authentication' }).macro({
    auth(requirement: true | Permission) {
      return {
        detail: { security: [{ bearer: [] }] },
        async resolve({ headers }) {
          const actor = await authenticate(headers.authorization);
          if (requirement !== true) await authorize(actor, requirement);
          return { actor };
        },
      };
    },
  });
}
