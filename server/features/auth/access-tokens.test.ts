import { describe, expect, test } from 'bun:test';
import { createAccessTokens } from './access-tokens.ts';

const secret = 'a-secret-for-access-token-tests-0123456789';

describe('access tokens', () => {
  test('verifying the same token again returns the same claims, session included (cache hit)', async () => {
    const tokens = createAccessTokens({ secret, ttlSeconds: 60 });
    const claims = {
      userId: Bun.randomUUIDv7(),
      tenantId: Bun.randomUUIDv7(),
      sessionId: Bun.randomUUIDv7(),
    };
    const token = await tokens.sign(claims);
    const expected = { ...claims, expiresAt: expect.any(Number) };
    expect(await tokens.verify(token)).toEqual(expected);
    expect(await tokens.verify(token)).toEqual(expected);
    const expiresAt = (await tokens.verify(token))?.expiresAt ?? 0;
    expect(Math.abs(expiresAt - (Date.now() + 60_000))).toBeLessThan(5_000);
    const withoutSession = await tokens.sign({ userId: claims.userId, tenantId: claims.tenantId });
    expect(await tokens.verify(withoutSession)).toEqual({
      userId: claims.userId,
      tenantId: claims.tenantId,
      sessionId: undefined,
      expiresAt: expect.any(Number),
    });
  });

  test('a token signed with another secret, or for another service, is refused', async () => {
    const ours = createAccessTokens({ secret, ttlSeconds: 60 });
    const theirs = createAccessTokens({ secret: `${secret}-other`, ttlSeconds: 60 });
    const token = await theirs.sign({ userId: Bun.randomUUIDv7(), tenantId: Bun.randomUUIDv7() });
    expect(await ours.verify(token)).toBeNull();
    expect(await ours.verify(`${token}x`)).toBeNull();
    expect(await ours.verify('')).toBeNull();
  });

  test('a secret shorter than 32 characters is refused when built', () => {
    expect(() => createAccessTokens({ secret: 'short', ttlSeconds: 60 })).toThrow(/32/);
  });
});
