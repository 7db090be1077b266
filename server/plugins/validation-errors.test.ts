import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValidationError } from 'elysia';
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

// 240 KB of JSON nested 60 deep: pretty-printed with the indentation of each level it is ~30 MB.
const nestedValue = () =>
  JSON.parse(`${'['.repeat(60)}${Array(120_000).fill('0').join(',')}${']'.repeat(60)}`);

describe('an invalid value costs the same whatever its size (issue #10, B)', () => {
  test('every route schema: the ValidationError Elysia builds does not print the value', async () => {
    // Tests run with NODE_ENV=test, which Elysia treats as development: the mode that printed it.
    expect(process.env.NODE_ENV).not.toBe('production');
    const app = await appWith();
    const value = nestedValue();
    const checked: string[] = [];
    const printed: Array<{ route: string; messageLength: number }> = [];
    for (const route of app.routes) {
      const hooks = route.hooks as Record<string, unknown>;
      for (const slot of ['body', 'query', 'headers', 'params'] as const) {
        const schema = hooks[slot];
        if (typeof schema !== 'object' || schema === null) continue;
        const validator = TypeCompiler.Compile(schema as Parameters<typeof TypeCompiler.Compile>[0]);
        for (const invalid of [value, { email: value, name: value, amount: value, id: value }]) {
          if (validator.Check(invalid)) continue;
          const { message } = new ValidationError(slot, validator, invalid);
          if (message.length > 200) {
            printed.push({ route: `${route.method} ${route.path} ${slot}`, messageLength: message.length });
          }
        }
        checked.push(`${route.method} ${route.path} ${slot}`);
      }
    }
    expect(printed).toEqual([]);
    expect(checked).toEqual(
      expect.arrayContaining([
        'POST /v1/auth/login body',
        'GET /v1/events query',
        'POST /v1/credits/consume headers',
      ]),
    );
  });

  test('the problem+json answer still lists the failing fields, without the value', async () => {
    const app = await appWith();
    const body = JSON.stringify({ email: nestedValue(), password: 'long enough' });
    const response = await app.handle(
      new Request('http://localhost/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        body,
      }),
    );
    expect(response.status).toBe(422);
    const text = await response.text();
    expect(text.length).toBeLessThan(1000);
    const problem = JSON.parse(text);
    expect(problem.type).toBe('/problems/validation-failed');
    expect(problem.errors.map((error: { path: string }) => error.path)).toContain('/email');
  });
});
