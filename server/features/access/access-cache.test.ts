import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import {
  type AccessCacheStore,
  memoryAccessCacheStore,
  redisAccessCacheStore,
  withAccessCache,
} from '../../../db/access-cache.ts';
import { memberships, roleAssignments } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import {
  defaultTestAccessCacheStore,
  type SignedUp,
  startTestApp,
  type TestApp,
  testConfig,
  testRedis,
} from '../../testing/harness.ts';
import { builtInRoles } from './permissions.ts';

// Every change that takes access away must apply on the very next request although that request's
// check was remembered. Each case first makes the same request twice (the second one served from the
// cache, counted), then changes access, then expects the refusal.

let hits = 0;
const base = defaultTestAccessCacheStore();
const counting: AccessCacheStore = {
  kind: base.kind,
  async lookup(tenantId, entry) {
    const found = await base.lookup(tenantId, entry);
    if (found.hit) hits++;
    return found;
  },
  remember: (...args) => base.remember(...args),
  invalidate: (tenantIds) => base.invalidate(tenantIds),
  close: () => base.close(),
};

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp({ accessCacheStore: counting });
  owner = await app.signUp({ organizationName: 'Cache Corp' });
});
afterAll(() => app.dispose());

async function memberWith(roleId: string, organizationId: string | null = null) {
  const person = await app.signUp({ organizationName: 'Elsewhere' });
  await withTenant(app.database, owner.tenantId, async (db) => {
    await db.insert(memberships).values({ tenantId: owner.tenantId, userId: person.userId });
    await db
      .insert(roleAssignments)
      .values({ tenantId: owner.tenantId, userId: person.userId, roleId, organizationId });
  });
  const login = await app.request('POST', '/v1/auth/login', {
    body: { email: person.email, password: person.password, tenantId: owner.tenantId },
  });
  expect(login.status).toBe(200);
  return {
    ...person,
    token: login.body.accessToken as string,
    refreshToken: login.body.refreshToken as string,
  };
}

type Call = { method: string; path: string; body?: unknown };
const send = (token: string, call: Call) => app.request(call.method, call.path, { token, body: call.body });

/** Makes `call` twice: both pass, and the second is answered from a remembered check. */
async function warm(token: string, call: Call) {
  expect((await send(token, call)).status).toBe(200);
  const before = hits;
  expect((await send(token, call)).status).toBe(200);
  expect(hits).toBe(before + 1);
}

const rename = (organizationId: string): Call => ({
  method: 'PATCH',
  path: `/v1/organizations/${organizationId}`,
  body: { name: `Renamed ${crypto.randomUUID().slice(0, 6)}` },
});
const listOrganizations: Call = { method: 'GET', path: '/v1/organizations' };

describe('remembered access checks end with the access', () => {
  test('a demotion', async () => {
    const member = await memberWith(builtInRoles.admin.id);
    await warm(member.token, rename(owner.rootOrganizationId));
    const demoted = await app.request('PATCH', `/v1/members/${member.userId}`, {
      token: owner.token,
      body: { roleIds: [builtInRoles.member.id] },
    });
    expect(demoted.status).toBe(200);
    expect((await send(member.token, rename(owner.rootOrganizationId))).status).toBe(403);
  });

  test('a suspension and a removal', async () => {
    const suspended = await memberWith(builtInRoles.viewer.id);
    const removed = await memberWith(builtInRoles.viewer.id);
    await warm(suspended.token, listOrganizations);
    await warm(removed.token, listOrganizations);
    await app.request('PATCH', `/v1/members/${suspended.userId}`, {
      token: owner.token,
      body: { status: 'suspended' },
    });
    expect(
      (await app.request('DELETE', `/v1/members/${removed.userId}`, { token: owner.token })).status,
    ).toBe(204);
    expect((await send(suspended.token, listOrganizations)).status).toBe(401);
    expect((await send(removed.token, listOrganizations)).status).toBe(401);
  });

  test('a custom role losing a permission', async () => {
    const role = await app.request('POST', '/v1/roles', {
      token: owner.token,
      body: { name: `Editors ${crypto.randomUUID().slice(0, 6)}`, permissions: ['org:read', 'org:write'] },
    });
    expect(role.status).toBe(201);
    const member = await memberWith(role.body.id);
    await warm(member.token, rename(owner.rootOrganizationId));
    await app.request('PATCH', `/v1/roles/${role.body.id}`, {
      token: owner.token,
      body: { permissions: ['org:read'] },
    });
    expect((await send(member.token, rename(owner.rootOrganizationId))).status).toBe(403);
  });

  test('an organization moving out from under an organization-scoped grant', async () => {
    const parent = await app.request('POST', '/v1/organizations', {
      token: owner.token,
      body: { name: 'Region', parentId: owner.rootOrganizationId },
    });
    const child = await app.request('POST', '/v1/organizations', {
      token: owner.token,
      body: { name: 'Team', parentId: parent.body.id },
    });
    const member = await memberWith(builtInRoles.admin.id, parent.body.id);
    await warm(member.token, rename(child.body.id));
    const moved = await app.request('PATCH', `/v1/organizations/${child.body.id}`, {
      token: owner.token,
      body: { parentId: owner.rootOrganizationId },
    });
    expect(moved.status).toBe(200);
    expect((await send(member.token, rename(child.body.id))).status).toBe(403);
  });

  test('an API key revoked', async () => {
    const created = await app.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'CRM', scopes: ['org:read'] },
    });
    expect(created.status).toBe(201);
    await warm(created.body.secret, listOrganizations);
    expect(
      (await app.request('DELETE', `/v1/api-keys/${created.body.id}`, { token: owner.token })).status,
    ).toBe(204);
    expect((await send(created.body.secret, listOrganizations)).status).toBe(401);
  });

  test('an API key reaching its expiry is not kept alive by a remembered check', async () => {
    const created = await app.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'Short', scopes: ['org:read'], expiresAt: new Date(Date.now() + 1500).toISOString() },
    });
    expect(created.status).toBe(201);
    expect((await send(created.body.secret, listOrganizations)).status).toBe(200);
    await Bun.sleep(1600);
    expect((await send(created.body.secret, listOrganizations)).status).toBe(401);
  });

  test('logout, a revoked session and a reused refresh token', async () => {
    const loggedOut = await memberWith(builtInRoles.viewer.id);
    await warm(loggedOut.token, listOrganizations);
    expect((await app.request('POST', '/v1/auth/logout', { token: loggedOut.token })).status).toBe(204);
    expect((await send(loggedOut.token, listOrganizations)).status).toBe(401);

    const revoked = await memberWith(builtInRoles.viewer.id);
    await warm(revoked.token, listOrganizations);
    const { sessionId } = (await app.tokens.verify(revoked.token)) ?? {};
    expect(
      (await app.request('DELETE', `/v1/auth/sessions/${sessionId}`, { token: revoked.token })).status,
    ).toBe(204);
    expect((await send(revoked.token, listOrganizations)).status).toBe(401);

    const copied = await memberWith(builtInRoles.viewer.id);
    await warm(copied.token, listOrganizations);
    const first = await app.request('POST', '/v1/auth/refresh', {
      body: { refreshToken: copied.refreshToken },
    });
    expect(first.status).toBe(200);
    await warm(first.body.accessToken, listOrganizations);
    const reused = await app.request('POST', '/v1/auth/refresh', {
      body: { refreshToken: copied.refreshToken },
    });
    expect(reused.status).toBe(401);
    expect((await send(first.body.accessToken, listOrganizations)).status).toBe(401);
  });

  test('a tenant suspended by a platform admin', async () => {
    const admin = await app.signUp({ organizationName: 'Platform' });
    await app.database.owner.execute(
      sql`update users set is_platform_admin = true where id = ${admin.userId}`,
    );
    const tenant = await app.signUp({ organizationName: 'To suspend' });
    await warm(tenant.token, listOrganizations);
    const suspended = await app.request('PATCH', `/v1/admin/tenants/${tenant.tenantId}`, {
      token: admin.token,
      body: { status: 'suspended' },
    });
    expect(suspended.status).toBe(200);
    expect((await send(tenant.token, listOrganizations)).status).toBe(401);
  });

  test('a password reset', async () => {
    const person = await app.signUp({ organizationName: 'Reset' });
    await warm(person.token, listOrganizations);
    expect(
      (await app.request('POST', '/v1/auth/password/forgot', { body: { email: person.email } })).status,
    ).toBe(202);
    const mailbox = await app.request('GET', '/v1/dev/mailbox');
    const text: string = mailbox.body.items.find((item: { to: string }) => item.to === person.email).text;
    const token = /token=(pr_[A-Za-z0-9_-]+)/.exec(text)?.[1];
    const reset = await app.request('POST', '/v1/auth/password/reset', {
      body: { token, password: 'a brand new password' },
    });
    expect(reset.status).toBe(204);
    expect((await send(person.token, listOrganizations)).status).toBe(401);
  });

  test('another tenant is not served a remembered check', async () => {
    const other = await app.signUp({ organizationName: 'Other' });
    await warm(owner.token, listOrganizations);
    const theirs = await app.request('GET', `/v1/organizations/${other.rootOrganizationId}`, {
      token: owner.token,
    });
    expect(theirs.status).toBe(404);
  });
});

describe('access cache stores', () => {
  const stores: Array<[string, () => AccessCacheStore]> = [['memory', memoryAccessCacheStore]];
  if (testConfig.REDIS_URL) {
    stores.push(['redis', () => redisAccessCacheStore(testRedis(), `wr:test:${crypto.randomUUID()}:`)]);
  }
  for (const [name, make] of stores) {
    test(`${name}: remember, hit, invalidate, expire`, async () => {
      const store = make();
      const tenant = crypto.randomUUID();
      const other = crypto.randomUUID();
      const first = await store.lookup(tenant, 'entry');
      expect(first.hit).toBe(false);
      await store.remember(tenant, first.generation, 'entry', 60_000);
      expect((await store.lookup(tenant, 'entry')).hit).toBe(true);
      await store.remember(other, (await store.lookup(other, 'entry')).generation, 'entry', 60_000);
      await store.invalidate([tenant]);
      expect((await store.lookup(tenant, 'entry')).hit).toBe(false);
      // Another tenant's remembered checks are untouched.
      expect((await store.lookup(other, 'entry')).hit).toBe(true);
      // A pass checked before an invalidation and remembered after it does not count.
      await store.remember(tenant, first.generation, 'entry', 60_000);
      expect((await store.lookup(tenant, 'entry')).hit).toBe(false);
      const current = await store.lookup(tenant, 'short');
      await store.remember(tenant, current.generation, 'short', 50);
      await Bun.sleep(80);
      expect((await store.lookup(tenant, 'short')).hit).toBe(false);
    });
  }

  test('a failing store never refuses a request: the check runs in Postgres', async () => {
    const errors: unknown[] = [];
    const broken: AccessCacheStore = {
      kind: 'redis',
      lookup: () => Promise.reject(new Error('store down')),
      remember: () => Promise.reject(new Error('store down')),
      invalidate: () => Promise.reject(new Error('store down')),
      close: () => {},
    };
    const database = withAccessCache(app.database, broken, (error) => errors.push(error));
    const viewer = await memberWith(builtInRoles.viewer.id);
    const actor = (await app.tokens.verify(viewer.token)) ?? { tenantId: '', userId: '' };
    const read = () =>
      withTenant(database, { ...actor, permission: 'org:read' }, (db) => db.execute(sql`select 1 as one`));
    await read();
    await expect(
      withTenant(database, { ...actor, permission: 'org:write' }, (db) => db.execute(sql`select 1`)),
    ).rejects.toThrow(/require_access|permission is required/);
    expect(errors.length).toBeGreaterThan(0);
    await expect(database.invalidateAccess([actor.tenantId])).rejects.toThrow('store down');
  });
});
