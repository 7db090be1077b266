import type { Database } from '../../../db/client.ts';
import { type TenantActor, withTenant } from '../../../db/tenant.ts';
import type { GatewayIdentity } from '../../../realtime/gateway.ts';
import type { ApiKeyResolver } from '../api-keys/service.ts';
import type { AccessTokens } from '../auth/access-tokens.ts';
import { effectivePermissions } from './service.ts';

/**
 * How the realtime gateway checks who connects: the API's own token verifier and key resolver, and the
 * same per-request check in Postgres (live membership, session or key) with the caller's permissions.
 */
export function gatewayIdentity(deps: {
  database: Database;
  tokens: AccessTokens;
  apiKeys: ApiKeyResolver;
}): GatewayIdentity {
  return {
    verifyAccessToken: (token) => deps.tokens.verify(token),
    resolveApiKey: (secret) => deps.apiKeys.resolve(secret),
    permissionsOf: (actor: TenantActor) =>
      withTenant(deps.database, actor, (db) => effectivePermissions(db, actor)),
  };
}
