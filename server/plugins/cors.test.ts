import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Runtime } from '../runtime.ts';
import { openTestDatabase, type TestAppOptions, type TestDatabase, testRuntime } from '../testing/harness.ts';

let testDb: TestDatabase;
const runtimes: Runtime[] = [];
beforeAll(async () => {
  testDb = await openTestDatabase();
});
afterAll(async () => {
  for (const runtime of runtimes) await runtime.stop();
  await testDb.dispose();
});

/** The app as production builds it, on this file's database. */
async function appWith(options: TestAppOptions = {}) {
  const runtime = await testRuntime(testDb.database, options);
  runtimes.push(runtime);
  return runtime.app;
}

const appWithOrigins = (origins: string) => appWith({ corsOrigins: origins });

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
    const app = await appWithOrigins('https://crm.example.com, https://admin.example.com');
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
    const app = await appWithOrigins('');
    const response = await app.handle(preflight('https://crm.example.com'));
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
