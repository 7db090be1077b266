import { errors, jwtVerify, SignJWT } from 'jose';

export interface AccessClaims {
  userId: string;
  tenantId: string;
}

export interface AccessTokens {
  readonly ttlSeconds: number;
  sign(claims: AccessClaims): Promise<string>;
  /** Returns the claims, or null for any token that is malformed, forged, expired or not an access token. */
  verify(token: string): Promise<AccessClaims | null>;
}

const ISSUER = 'wrapper';
const AUDIENCE = 'wrapper-api';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** HS256 access tokens. Only HS256 is accepted on verify, so `alg: none` and algorithm swaps fail. */
export function createAccessTokens(options: { secret: string; ttlSeconds: number }): AccessTokens {
  if (options.secret.length < 32) throw new Error('the access-token secret must have at least 32 characters');
  const key = new TextEncoder().encode(options.secret);
  return {
    ttlSeconds: options.ttlSeconds,
    sign(claims) {
      return new SignJWT({ tid: claims.tenantId, typ: 'access' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .sign(key);
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['exp', 'sub', 'iat'],
        });
        const { sub, tid, typ } = payload;
        if (typ !== 'access' || typeof sub !== 'string' || typeof tid !== 'string') return null;
        if (!UUID.test(sub) || !UUID.test(tid)) return null;
        return { userId: sub, tenantId: tid };
      } catch (error) {
        if (error instanceof errors.JOSEError || error instanceof TypeError) return null;
        throw error;
      }
    },
  };
}
