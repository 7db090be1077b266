import { errors, jwtVerify, SignJWT } from 'jose';

const AUDIENCE = 'wrapper-operator';
const ISSUER = 'wrapper-cli';
/** An operator token is made for one command: it lives two minutes at most. */
const MAX_TTL_SECONDS = 120;

/**
 * Proof that a command comes from whoever runs the server: a short JWT signed with the server's own
 * access-token secret (JWT_SECRET, or the one generated into DATA_DIR), for an audience no access token
 * has. `bun run admin:create` uses it to reach a running server that holds the embedded database.
 */
export function signOperatorToken(secret: string, grant: { platformAdminEmail: string }): Promise<string> {
  return new SignJWT({ typ: 'operator', email: grant.platformAdminEmail })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${MAX_TTL_SECONDS}s`)
    .sign(new TextEncoder().encode(secret));
}

/** The email the token grants platform administration to, or null for any other token. */
export async function verifyOperatorToken(secret: string, token: string): Promise<string | null> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['exp', 'iat'],
      maxTokenAge: MAX_TTL_SECONDS,
    });
    if (payload.typ !== 'operator' || typeof payload.email !== 'string') return null;
    return payload.email;
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof TypeError) return null;
    throw error;
  }
}
