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

describe('input the database could not take is refused at the door (issue #10)', () => {
  const NUL = 'a\u0000b';
  const key = () => ({ 'idempotency-key': `bad-${crypto.randomUUID()}` });

  test('a NUL character in any text field is 422 naming the field, never a 500', async () => {
    const cases: Array<{ route: string; path: string; auth?: boolean; body: unknown; field: string }> = [
      {
        route: 'POST /v1/auth/signup',
        path: '/v1/auth/signup',
        body: { email: 'nul@example.test', password: 'long enough', name: NUL, organizationName: 'Org' },
        field: '/name',
      },
      {
        route: 'POST /v1/auth/login',
        path: '/v1/auth/login',
        body: { email: 'nul@example.test', password: `long enough${NUL}` },
        field: '/password',
      },
      {
        route: 'POST /v1/roles',
        path: '/v1/roles',
        auth: true,
        body: { name: NUL, permissions: ['org:read'] },
        field: '/name',
      },
      {
        route: 'POST /v1/organizations',
        path: '/v1/organizations',
        auth: true,
        body: { name: NUL },
        field: '/name',
      },
      {
        route: 'POST /v1/api-keys',
        path: '/v1/api-keys',
        auth: true,
        body: { name: NUL, scopes: ['org:read'] },
        field: '/name',
      },
      { route: 'PATCH /v1/tenant', path: '/v1/tenant', auth: true, body: { name: NUL }, field: '/name' },
      {
        route: 'POST /v1/auth/password/forgot',
        path: '/v1/auth/password/forgot',
        body: { email: `x${NUL}@example.test` },
        field: '/email',
      },
      {
        route: 'POST /v1/credits/grants',
        path: '/v1/credits/grants',
        auth: true,
        body: { amount: 5, reason: NUL },
        field: '/reason',
      },
      {
        route: 'POST /v1/credits/reservations',
        path: '/v1/credits/reservations',
        auth: true,
        body: { amount: 1, reason: NUL },
        field: '/reason',
      },
      {
        route: 'POST /v1/credits/consume',
        path: '/v1/credits/consume',
        auth: true,
        body: { amount: 1, reason: 'ok', metadata: { [`k${NUL}`]: 'v' } },
        field: `/metadata/k${NUL}`,
      },
    ];
    for (const { route, path, auth, body, field } of cases) {
      const [method = 'POST'] = route.split(' ');
      const response = await app.request(method, path, {
        token: auth ? owner.token : undefined,
        headers: key(),
        body,
      });
      expect({ route, status: response.status, type: response.body.type }).toEqual({
        route,
        status: 422,
        type: '/problems/validation-failed',
      });
      expectProblem(response, 422, 'validation-failed');
      expect(response.body.detail).toContain('NUL');
      expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(field);
    }
  });

  test('an unpaired surrogate in consume reason or metadata is 422, never a 500', async () => {
    for (const rawBody of [
      '{"amount":1,"reason":"a\\uD800b"}',
      '{"amount":1,"reason":"ok","metadata":{"note":"a\\uDC00b"}}',
    ]) {
      const response = await app.request('POST', '/v1/credits/consume', {
        token: owner.token,
        headers: key(),
        rawBody,
      });
      expectProblem(response, 422, 'validation-failed');
      expect(response.body.errors[0].message).toContain('surrogate');
    }
    // A pair is one character (an emoji), not a lone surrogate.
    const paired = await app.request('POST', '/v1/credits/consume', {
      token: owner.token,
      headers: key(),
      rawBody: '{"amount":1,"reason":"\\uD83D\\uDE00"}',
    });
    expectProblem(paired, 402, 'insufficient-credits');
  });

  test('NUL in a query string is 422; in a path segment 404', async () => {
    for (const query of ['types=a%00b', 'cursor=%00']) {
      const response = await app.request('GET', `/v1/events?${query}`, { token: owner.token });
      expectProblem(response, 422, 'validation-failed');
    }
    const preview = await app.request('GET', '/v1/invitations/preview?token=abc%00def');
    expectProblem(preview, 422, 'validation-failed');
    expect(preview.body.errors).toEqual([{ path: '/token', message: expect.stringContaining('NUL') }]);
    expectProblem(await app.request('GET', '/v1/auth/oidc/go%00ogle/start'), 404, 'not-found');
  });

  test('integers past what the column holds are 422, not a database error', async () => {
    for (const after of ['9223372036854775807', '9223372036854775808', '1e23', '99999999999999999999']) {
      const response = await app.request('GET', `/v1/events?after=${after}`, { token: owner.token });
      expectProblem(response, 422, 'validation-failed');
      expect(response.body.errors.map((error: { path: string }) => error.path)).toEqual(['/after']);
    }
    const largest = await app.request('GET', `/v1/events?after=${Number.MAX_SAFE_INTEGER}`, {
      token: owner.token,
    });
    expect(largest.status).toBe(200);
  });

  test('a body nested 100 000 deep is 400 json-too-deep; 64 levels still parse', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    for (const path of ['/v1/auth/login', '/v1/auth/signup']) {
      const response = await app.request('POST', path, { rawBody: deep });
      expectProblem(response, 400, 'json-too-deep');
    }
    const deepObject = `${'{"a":'.repeat(65)}1${'}'.repeat(65)}`;
    expectProblem(await app.request('POST', '/v1/auth/login', { rawBody: deepObject }), 400, 'json-too-deep');
    // Brackets inside strings are text, not nesting.
    const inString = JSON.stringify({ email: 'x@example.test', password: '['.repeat(100) });
    expectProblem(
      await app.request('POST', '/v1/auth/login', { rawBody: inString }),
      401,
      'invalid-credentials',
    );
    const sixtyFour = `${'['.repeat(63)}{}${']'.repeat(63)}`;
    expectProblem(
      await app.request('POST', '/v1/auth/login', { rawBody: sixtyFour }),
      422,
      'validation-failed',
    );
  });

  test('a body that is not JSON is 415 unsupported-media-type', async () => {
    for (const contentType of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/plain',
    ]) {
      const response = await app.request('POST', '/v1/auth/login', {
        rawBody: 'email=x%40example.test&password=long+enough',
        headers: { 'content-type': contentType },
      });
      expectProblem(response, 415, 'unsupported-media-type');
    }
    const charset = await app.request('POST', '/v1/auth/login', {
      body: { email: 'nobody@example.test', password: 'long enough' },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expectProblem(charset, 401, 'invalid-credentials');
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
