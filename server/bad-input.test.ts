import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type SignedUp, startTestApp, type TestApp } from './testing/harness.ts';

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Bad Input Inc' });
});
afterAll(() => app.dispose());

function expectProblem(
  response: { status: number; headers: Headers; body: any },
  status: number,
  type?: string,
) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toStartWith('application/problem+json');
  expect(response.body.status).toBe(status);
  expect(typeof response.body.title).toBe('string');
  expect(typeof response.body.requestId).toBe('string');
  expect(response.headers.get('x-request-id')).toBe(response.body.requestId);
  if (type) expect(response.body.type).toBe(`/problems/${type}`);
}

describe('bad input gets problem+json, never a 500', () => {
  const signup = (body: unknown) => app.request('POST', '/v1/auth/signup', { body });
  const valid = {
    email: 'valid@example.test',
    password: 'long enough',
    name: 'Val',
    organizationName: 'Org',
  };

  test('malformed JSON', async () => {
    for (const rawBody of ['{"email":', 'not json', '{"a":1}}', '\u0000']) {
      const response = await app.request('POST', '/v1/auth/signup', { rawBody });
      expectProblem(response, 400, 'malformed-json');
    }
  });

  test('missing fields are listed', async () => {
    const response = await signup({ email: 'x@example.test' });
    expectProblem(response, 422, 'validation-failed');
    const paths = response.body.errors.map((error: { path: string }) => error.path);
    expect(paths).toEqual(expect.arrayContaining(['/password', '/name', '/organizationName']));
  });

  test('extra fields are refused by name', async () => {
    const response = await signup({ ...valid, isPlatformAdmin: true, tenantId: Bun.randomUUIDv7() });
    expectProblem(response, 422, 'validation-failed');
    const paths = response.body.errors.map((error: { path: string }) => error.path);
    expect(paths).toEqual(expect.arrayContaining(['/isPlatformAdmin', '/tenantId']));
  });

  test('wrong types, bad formats and oversized fields', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...valid, email: 42 }, '/email'],
      [{ ...valid, email: 'not-an-email' }, '/email'],
      [{ ...valid, password: 'short' }, '/password'],
      [{ ...valid, name: 'n'.repeat(10_000) }, '/name'],
      [{ ...valid, organizationName: '   ' }, '/organizationName'],
      [{ ...valid, password: ['array'] }, '/password'],
    ];
    for (const [body, path] of cases) {
      const response = await signup(body);
      expectProblem(response, 422, 'validation-failed');
      expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(path);
    }
    for (const body of [null, [], 'string', 7]) expectProblem(await signup(body), 422, 'validation-failed');
  });

  test('bad query parameters', async () => {
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=not-a-uuid', 'limit=1.5']) {
      const response = await app.request('GET', `/v1/organizations?${query}`, { token: owner.token });
      expectProblem(response, 422, 'validation-failed');
      expect(response.body.detail).toBe('The query string has invalid fields.');
      expect(response.body.errors.map((error: { path: string }) => error.path)).toEqual([
        `/${query.split('=')[0]}`,
      ]);
    }
  });

  test('an empty PATCH and a malformed id', async () => {
    const empty = await app.request('PATCH', `/v1/organizations/${owner.rootOrganizationId}`, {
      token: owner.token,
      body: {},
    });
    expectProblem(empty, 422, 'validation-failed');
    const malformed = await app.request('GET', "/v1/organizations/1'%20or%201=1", { token: owner.token });
    expectProblem(malformed, 404, 'not-found');
  });

  test('a 1 MB body is refused with 413 before it is read', async () => {
    const response = await app.request('POST', '/v1/organizations', {
      token: owner.token,
      rawBody: JSON.stringify({ name: 'x'.repeat(1024 * 1024) }),
    });
    expectProblem(response, 413, 'payload-too-large');
    const list = await app.request('GET', '/v1/organizations', { token: owner.token });
    expect(list.body.items).toHaveLength(1);
  });

  test('unknown routes and methods', async () => {
    expectProblem(await app.request('GET', '/v1/nothing-here'), 404, 'not-found');
    expectProblem(await app.request('POST', '/v1/nothing-here', { body: {} }), 404, 'not-found');
    expectProblem(await app.request('DELETE', '/v1/organizations', { token: owner.token }), 404, 'not-found');
    expectProblem(await app.request('GET', '/v1'), 404, 'not-found');
  });

  test("a caller's sane X-Request-Id is echoed; an unsafe one is replaced", async () => {
    const echoed = await app.request('GET', '/v1/nothing', { headers: { 'x-request-id': 'trace-123.abc' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-123.abc');
    expect(echoed.body.requestId).toBe('trace-123.abc');
    const replaced = await app.request('GET', '/healthz', { headers: { 'x-request-id': '<script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('operations endpoints', () => {
  test('health and readiness', async () => {
    expect((await app.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await app.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });

  test('the OpenAPI 3.1 document describes the routes, secured ones marked', async () => {
    const response = await app.request('GET', '/docs/json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toStartWith('3.1');
    const paths = Object.keys(response.body.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/auth/signup',
        '/v1/auth/login',
        '/v1/me',
        '/v1/organizations',
        '/v1/organizations/{id}',
      ]),
    );
    expect(response.body.paths['/v1/organizations'].post.security).toEqual([{ bearer: [] }]);
    expect(response.body.paths['/v1/auth/signup'].post.requestBody).toBeDefined();
  });
});
