import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import pino from 'pino';
import type { Runtime } from '../runtime.ts';
import { openTestDatabase, type TestAppOptions, type TestDatabase, testRuntime } from '../testing/harness.ts';

const logged: Array<Record<string, unknown>> = [];
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

async function appWithFailingRoute() {
  const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) });
  return (await appWith({ logger })).get('/v1/test/explode', () => {
    throw new Error('connection string postgres://admin:hunter2@db leaked');
  });
}

describe('unexpected errors', () => {
  test('answer 500 problem+json without internals, and log the stack with the request id', async () => {
    const app = await appWithFailingRoute();
    const response = await app.handle(
      new Request('http://localhost/v1/test/explode', { headers: { 'x-request-id': 'req-500-check' } }),
    );
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toStartWith('application/problem+json');
    const text = await response.text();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('at ');
    expect(JSON.parse(text)).toEqual({
      type: '/problems/internal',
      title: 'Internal server error',
      status: 500,
      detail: expect.any(String),
      requestId: 'req-500-check',
    });
    const entry = logged.find((line) => line.msg === 'unhandled error');
    expect(entry?.requestId).toBe('req-500-check');
    expect(String((entry?.err as { stack?: string })?.stack)).toContain('hunter2');
    // The access line is written after the response has gone out.
    let access: Record<string, unknown> | undefined;
    for (let tries = 0; tries < 50 && !access; tries++) {
      access = logged.find((line) => line.msg === 'request' && line.requestId === 'req-500-check');
      if (!access) await Bun.sleep(10);
    }
    expect(access?.status).toBe(500);
  });

  test('the API reference UI is served at /docs and points at the document', async () => {
    const response = await (await appWithFailingRoute()).handle(new Request('http://localhost/docs'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('"url":"docs/json"');
  });
});
