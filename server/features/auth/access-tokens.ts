import { errors, jwtVerify, SignJWT } from 'jose';

export interface AccessClaims {
  userId: string;
  tenantId: string;
  /** The session the token was issued for (absent for tokens minted outside a sign-in, e.g. in tests). */
  sessionId?: string;
  /** The person's name when the token was issued (the actor name of their audit entries). */
  name?: string;
  /** When the token expires, in ms (set on verified tokens). */
  expiresAt?: number;
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

const VERIFIED_CACHE_SIZE = 10_000;

/** HS256 access tokens. Only HS256 is accepted on verify, so `alg: none` and algorithm swaps fail. */
export function createAccessTokens(options: { secret: string; ttlSeconds: number }): AccessTokens {
  if (options.secret.length < 32) throw new Error('the access-token secret must have at least 32 characters');
  const key = new TextEncoder().encode(options.secret);
  // Verifying a signature costs ~80 µs of CPU; a token is immutable, so a verified one is remembered
  // (bounded, oldest evicted) and only its expiry is checked again on later requests.
  const verified = new Map<string, { claims: Readonly<AccessClaims>; expiresAt: number }>();
  return {
    ttlSeconds: options.ttlSeconds,
    sign(claims) {
      return new SignJWT({
        tid: claims.tenantId,
        typ: 'access',
        ...(claims.sessionId ? { sid: claims.sessionId } : {}),
        ...(claims.name ? { name: claims.name } : {}),
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .sign(key);
    },
    async verify(token) {
      const remembered = verified.get(token);
      if (remembered) {
        if (remembered.expiresAt > Date.now()) return remembered.claims;
        verified.delete(token);
        return null;
      }
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['exp', 'sub', 'iat'],
        });
        const { sub, tid, typ, exp, sid, name } = payload;
        if (
          typ !== 'access' ||
          typeof sub !== 'string' ||
          typeof tid !== 'string' ||
          typeof exp !== 'number'
        ) {
          return null;
        }
        if (!UUID.test(sub) || !UUID.test(tid)) return null;
        if (sid !== undefined && (typeof sid !== 'string' || !UUID.test(sid))) return null;
        const sessionId = typeof sid === 'string' ? sid : undefined;
        if (verified.size >= VERIFIED_CACHE_SIZE) {
          const oldest = verified.keys().next().value;
          if (oldest !== undefined) verified.delete(oldest);
        }
        const claims: Readonly<AccessClaims> = Object.freeze({
          userId: sub,
          tenantId: tid,
          sessionId,
          ...(typeof name === 'string' ? { name: name.slice(0, 200) } : {}),
          expiresAt: exp * 1000,
        });
        verified.set(token, { claims, expiresAt: exp * 1000 });
        return claims;
      } catch (error) {
        if (error instanceof errors.JOSEError || error instanceof TypeError) return null;
        throw error;
      }
    },
  };
}
