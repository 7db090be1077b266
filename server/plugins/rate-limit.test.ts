import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { type SignedUp, startTestApp, type TestApp, testConfig } from '../testing/harness.ts';
import { memoryRateLimitStore, type RateLimitStore, redisRateLimitStore } from './rate-limit.ts';

const redisUrl = testConfig.REDIS_URL;
const stores: Array<[string, () => { store: RateLimitStore; close(): void }]> = [
  ['in-process', () => ({ store: memoryRateLimitStore(), close() {} })],
];
if (redisUrl) {
  stores.push([
    'redis',
    () => {
      const redis = new Redis(redisUrl);
      // A fresh prefix per suite: other runs sharing the server cannot touch these counters.
      const store = redisRateLimitStore(redis, { keyPrefix: `wrapper:test:${crypto.randomUUID()}:` });
      return { store, close: () => redis.disconnect() };
    },
  ]);
}

for (const [storeName, makeStore] of stores) {
  describe(`rate limits (${storeName} store)`, () => {
    let made: ReturnType<typeof makeStore>;
    let app: TestApp;
    let owner: SignedUp;

    beforeAll(async () => {
      made = makeStore();
      app = await startTestApp({
        rateLimitStore: made.store,
        rateLimits: { authPerMinute: 3, tenantPerMinute: 5, apiKeyPerMinute: 2, trustProxy: true },
      });
      owner = await app.signUp({}, { 'x-forwarded-for': '203.0.113.1' });
    });
    afterAll(async () => {
      await app.dispose();
      made.close();
    });

    test('the store counts exactly under concurrency and resets with the window', async () => {
      const key = `count-${crypto.randomUUID()}`;
      const counts = await Promise.all(Array.from({ length: 40 }, () => made.store.hit(key, 1)));
      expect(counts.map((hit) => hit.count).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 40 }, (_, index) => index + 1),
      );
      await Bun.sleep(1100);
      expect((await made.store.hit(key, 1)).count).toBe(1);
    });

    test('sign-in per IP: the 4th attempt in a minute gets 429 with the headers', async () => {
      const ip = { 'x-forwarded-for': '198.51.100.7' };
      const attempts = [];
      for (let attempt = 0; attempt < 4; attempt++) {
        attempts.push(
          await app.request('POST', '/v1/auth/login', {
            body: { email: owner.email, password: 'wrong password' },
            headers: ip,
          }),
        );
      }
      expect(attempts.map((response) => response.status)).toEqual([401, 401, 401, 429]);
      expect(attempts[0]?.headers.get('ratelimit-policy')).toBe('"auth-ip";q=3;w=60');
      expect(attempts[2]?.headers.get('ratelimit')).toMatch(/^"auth-ip";r=0;t=\d+$/);
      const refused = attempts[3];
      expect(refused?.headers.get('content-type')).toStartWith('application/problem+json');
      expect(refused?.body.type).toBe('/problems/rate-limited');
      expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(refused?.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      // Even the right password waits: guessing is what the limit is for.
      const right = await app.request('POST', '/v1/auth/login', {
        body: { email: owner.email, password: owner.password },
        headers: ip,
      });
      expect(right.status).toBe(429);
      // Another address has its own budget.
      const elsewhere = await app.request('POST', '/v1/auth/login', {
        body: { email: owner.email, password: owner.password },
        headers: { 'x-forwarded-for': '198.51.100.8' },
      });
      expect(elsewhere.status).toBe(200);
    });

    test('per tenant: the 6th request in a minute gets 429; other tenants are unaffected', async () => {
      const tenant = await app.signUp({}, { 'x-forwarded-for': '203.0.113.2' });
      const statuses = [];
      for (let request = 0; request < 6; request++) {
        statuses.push((await app.request('GET', '/v1/organizations', { token: tenant.token })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const other = await app.signUp({}, { 'x-forwarded-for': '203.0.113.3' });
      expect((await app.request('GET', '/v1/organizations', { token: other.token })).status).toBe(200);
    });

    test('per API key: a key has its own budget, apart from the tenant', async () => {
      const tenant = await app.signUp({}, { 'x-forwarded-for': '203.0.113.4' });
      const created = await app.request('POST', '/v1/api-keys', {
        token: tenant.token,
        body: { name: 'crm', scopes: ['org:read'] },
      });
      const key = created.body.secret;
      const statuses = [];
      for (let request = 0; request < 3; request++) {
        statuses.push((await app.request('GET', '/v1/organizations', { token: key })).status);
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect((await app.request('GET', '/v1/organizations', { token: tenant.token })).status).toBe(200);
    });
  });
}
