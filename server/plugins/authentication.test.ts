import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Elysia, t } from 'elysia';
import type { Database, RequestContext } from '../../db/client.ts';
import { withTenant } from '../../db/tenant.ts';
import { createApiKeyResolver } from '../features/api-keys/service.ts';
import { createLogger } from '../logger.ts';
import { type SignedUp, startTestApp, type TestApp } from '../testing/harness.ts';
import { authentication } from './authentication.ts';
import { errorHandling } from './errors.ts';
import { createRateLimiter, memoryRateLimitStore, rateLimitsFrom } from './rate-limit.ts';
import { requestId } from './request-id.ts';

let app: TestApp;
let owner: SignedUp;
beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Macro Checks' });
});
afterAll(() => app.dispose());

/** The access checks that reached the database (contexts carrying `access`), in order. */
const checks: Array<string | null> = [];
function counted(database: Database): Database {
  const note = (context: RequestContext) => {
    if (context.access) checks.push(context.access.organizationId ?? null);
  };
  return {
    ...database,
    transaction(context, fn) {
      note(context);
      return database.transaction(context, fn);
    },
    checkAccess(context) {
      note(context);
      return database.checkAccess(context);
    },
  };
}

let built: ReturnType<typeof routes> | undefined;

/** Routes built with the real macro on the test app's database, as a feature would write them. */
function routes() {
  const database = counted(app.database);
  const rateLimits = rateLimitsFrom(
    createRateLimiter(memoryRateLimitStore(), () => {}),
    {
      authPerMinute: 0,
      tenantPerMinute: 0,
      apiKeyPerMinute: 0,
      trustProxy: false,
    },
  );
  const auth = { database, rateLimits, tokens: app.tokens, apiKeys: createApiKeyResolver(app.database) };
  return new Elysia()
    .use(requestId)
    .use(errorHandling(createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' })))
    .use(authentication(auth))
    .get('/forgetful', () => ({ answered: true }), { auth: 'org:read' })
    .get('/careful', ({ actor }) => withTenant(app.database, actor, async () => ({ answered: true })), {
      auth: 'org:read',
    })
    .get(
      '/member',
      async ({ actor }) => {
        await withTenant(database, actor, async () => {});
        // A copy asking about one organization is a different question: it is checked.
        await withTenant(database, { ...actor, organizationId: owner.rootOrganizationId }, async () => {});
        return { ok: true };
      },
      { auth: true },
    )
    .post('/validated', ({ actor }) => withTenant(app.database, actor, async () => ({ ok: true })), {
      auth: 'org:write',
      body: t.Object({ name: t.String() }),
    });
}

const call = async (path: string, token: string, init: RequestInit = {}) => {
  built ??= routes();
  const response = await built.handle(
    new Request(`http://localhost${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
    }),
  );
  return { status: response.status, body: await response.json() };
};

describe('the authentication macro', () => {
  test('a permission route that never opens a door with its actor fails instead of answering', async () => {
    const forgetful = await call('/forgetful', owner.token);
    expect(forgetful.status).toBe(500);
    expect(forgetful.body.type).toBe('/problems/internal');
    expect(forgetful.body).not.toHaveProperty('answered');
    expect((await call('/careful', owner.token)).body).toEqual({ answered: true });
  });

  test('a membership route checks once: its door does not ask what the macro just checked', async () => {
    checks.length = 0;
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: owner.email, password: owner.password },
    });
    expect((await call('/member', login.body.accessToken)).body).toEqual({ ok: true });
    expect(checks).toEqual([null, owner.rootOrganizationId]);
  });

  test('an ended session is told so before the body is judged', async () => {
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: owner.email, password: owner.password },
    });
    const token = login.body.accessToken;
    const invalid = { method: 'POST', body: '{"name": 42}', headers: { 'content-type': 'application/json' } };
    expect((await call('/validated', token, invalid)).status).toBe(422);
    await app.request('POST', '/v1/auth/logout', { token });
    const ended = await call('/validated', token, invalid);
    expect(ended.status).toBe(401);
    expect(ended.body.type).toBe('/problems/unauthorized');
  });
});
