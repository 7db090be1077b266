import { describe, expect, test } from 'bun:test';
import { readAccessTokenClaims } from './access-token';

function jwt(claims: unknown): string {
  const encode = (value: unknown) =>
    btoa(JSON.stringify(value)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}.signature`;
}

describe('readAccessTokenClaims', () => {
  test('reads exp (seconds) as ms, the person and the tenant, from base64url without padding', () => {
    // "??>" encodes to characters that differ between base64 and base64url.
    const token = jwt({ sub: 'user-1', tid: 'tenant-1', note: '??>??>', exp: 1_900_000_000 });
    expect(readAccessTokenClaims(token)).toEqual({
      expiresAt: 1_900_000_000_000,
      userId: 'user-1',
      tenantId: 'tenant-1',
    });
  });

  test('null for what is not a JWT; missing or odd claims read as null', () => {
    expect(readAccessTokenClaims('')).toBeNull();
    expect(readAccessTokenClaims('wr_not-a-jwt')).toBeNull();
    expect(readAccessTokenClaims('a.%%%.c')).toBeNull();
    expect(readAccessTokenClaims(jwt(null))).toBeNull();
    expect(readAccessTokenClaims(jwt({ exp: '1900000000', sub: 7 }))).toEqual({
      expiresAt: null,
      userId: null,
      tenantId: null,
    });
  });
});
