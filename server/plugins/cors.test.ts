import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createApp } from '../app.ts';
import { openTestDatabase, type TestDatabase, testAppDeps } from '../testing/harness.ts';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await openTestDatabase();
});
afterAll(() => testDb.dispose());

const appWithOrigins = (origins: string) => createApp(testAppDeps(testDb.database, { corsOrigins: origins }));

const preflight = (origin: string) =>
  new Request('http://localhost/v1/organizations', {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization',
    },
  });

describe('CORS', () => {
  test('a listed origin may call the API from a browser; another may not', async () => {
    const app = appWithOrigins('https://crm.example.com, https://admin.example.com');
    const allowed = await app.handle(preflight('https://crm.example.com'));
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://crm.example.com');
    const refused = await app.handle(preflight('https://evil.example.net'));
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await app.handle(
      new Request('http://localhost/healthz', { headers: { origin: 'https://admin.example.com' } }),
    );
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    expect(simple.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
  });

  test('with no origins configured, no cross-origin access is granted', async () => {
    const app = appWithOrigins('');
    const response = await app.handle(preflight('https://crm.example.com'));
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
