import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { connectRedis, redisReadiness } from '../../redis.ts';
import { openTestDatabase, type TestDatabase, testConfig } from '../../testing/harness.ts';
import { healthRoutes } from './routes.ts';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await openTestDatabase();
});
afterAll(() => testDb.dispose());

async function readiness(url: string) {
  const redis = connectRedis(url);
  try {
    const app = new Elysia().use(
      healthRoutes({ database: testDb.database, checks: [redisReadiness(redis)] }),
    );
    const response = await app.handle(new Request('http://localhost/readyz'));
    return {
      status: response.status,
      body: (await response.json()) as { status: string; checks: Record<string, string> },
    };
  } finally {
    redis.disconnect();
  }
}

describe('readiness with Redis', () => {
  test('an unreachable Redis makes the node unready (503) and says which check failed', async () => {
    const result = await readiness('redis://127.0.0.1:1');
    expect(result.status).toBe(503);
    expect(result.body.checks.database).toBe('ok');
    expect(result.body.checks.redis).toStartWith('failed');
  });

  test.skipIf(!testConfig.REDIS_URL)('a reachable Redis (REDIS_URL) is ready', async () => {
    const result = await readiness(testConfig.REDIS_URL ?? '');
    expect(result).toEqual({
      status: 200,
      body: { status: 'ready', checks: { database: 'ok', redis: 'ok' } },
    });
  });
});
