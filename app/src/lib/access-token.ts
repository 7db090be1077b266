/** What the app reads from its own access token (a JWT): never trusted, only to know when to refresh. */
export interface AccessTokenClaims {
  /** When the token expires, in ms since the epoch. */
  expiresAt: number | null;
  userId: string | null;
  tenantId: string | null;
}

/**
 * The claims of an access token, read without checking the signature (the server does that); `null` when
 * the token is not a readable JWT.
 */
export function readAccessTokenClaims(token: string): AccessTokenClaims | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  let claims: unknown;
  try {
    const base64 = payload.replaceAll('-', '+').replaceAll('_', '/');
    claims = JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '=')));
  } catch {
    return null;
  }
  if (typeof claims !== 'object' || claims === null) return null;
  const { exp, sub, tid } = claims as { exp?: unknown; sub?: unknown; tid?: unknown };
  return {
    expiresAt: typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null,
    userId: typeof sub === 'string' ? sub : null,
    tenantId: typeof tid === 'string' ? tid : null,
  };
}
