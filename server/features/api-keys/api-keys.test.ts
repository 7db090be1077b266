import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { apiKeys, memberships } from '../../../db/schema/index.ts';
import { withTenant, withTenantAccessChange } from '../../../db/tenant.ts';
import { type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { type BuiltInRoleKey, builtInRoles } from '../access/permissions.ts';
import { addMember } from '../access/service.ts';

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Keyed Corp' });
});
afterAll(() => app.dispose());

const createKey = (token: string, body: unknown) => app.request('POST', '/v1/api-keys', { token, body });

async function join(role: BuiltInRoleKey) {
  const person = await app.signUp({ organizationName: 'Home' });
  await withTenant(app.database, owner.tenantId, (db) =>
    addMember(db, { tenantId: owner.tenantId, userId: person.userId, role }),
  );
  const login = await app.request('POST', '/v1/auth/login', {
    body: { email: person.email, password: person.password, tenantId: owner.tenantId },
  });
  return { ...person, token: login.body.accessToken as string };
}

describe('API keys', () => {
  test('the secret is shown once; the key acts within its scopes', async () => {
    const created = await createKey(owner.token, { name: 'CRM sync', scopes: ['org:read'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'CRM sync',
      scopes: ['org:read'],
      lastUsedAt: null,
      expiresAt: null,
    });
    expect(created.body.secret).toMatch(/^wr_[A-Za-z0-9_-]{43}$/);
    expect(created.body.secret.startsWith(created.body.prefix)).toBe(true);

    const list = await app.request('GET', '/v1/api-keys', { token: owner.token });
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    expect(list.body.items.map((key: { id: string }) => key.id)).toContain(created.body.id);

    const key = created.body.secret;
    expect((await app.request('GET', '/v1/organizations', { token: key })).status).toBe(200);
    const write = await app.request('POST', '/v1/organizations', { token: key, body: { name: 'By key' } });
    expect(write.status).toBe(403);
    expect(write.body.detail).toBe('This action needs the "org:write" permission.');
    const logout = await app.request('POST', '/v1/auth/logout', { token: key });
    expect(logout.status).toBe(403);
    expect(logout.body.detail).toBe('This route is for signed-in people; API keys cannot use it.');
  });

  test('each single scope opens exactly its routes', async () => {
    const readOnly = (await createKey(owner.token, { name: 'read', scopes: ['org:read'] })).body.secret;
    const writeOnly = (await createKey(owner.token, { name: 'write', scopes: ['org:write'] })).body.secret;
    const membersOnly = (await createKey(owner.token, { name: 'members', scopes: ['members:read'] })).body
      .secret;
    const cases: Array<[string, string, string, unknown, number]> = [
      [readOnly, 'GET', '/v1/organizations', undefined, 200],
      [readOnly, 'GET', '/v1/members', undefined, 403],
      [writeOnly, 'POST', '/v1/organizations', { name: 'By write key' }, 201],
      [writeOnly, 'GET', '/v1/organizations', undefined, 403],
      [membersOnly, 'GET', '/v1/members', undefined, 200],
      [membersOnly, 'POST', '/v1/organizations', { name: 'Nope' }, 403],
      [membersOnly, 'GET', '/v1/api-keys', undefined, 403],
    ];
    for (const [token, method, path, body, status] of cases) {
      const response = await app.request(method, path, { token, body });
      expect({ method, path, status: response.status }).toEqual({ method, path, status });
    }
  });

  test("a key never grants more than its creator's current permissions", async () => {
    const admin = await join('admin');
    const key = (await createKey(admin.token, { name: 'admin key', scopes: ['org:read', 'org:write'] })).body
      .secret;
    expect(
      (await app.request('POST', '/v1/organizations', { token: key, body: { name: 'While admin' } })).status,
    ).toBe(201);
    await app.request('PATCH', `/v1/members/${admin.userId}`, {
      token: owner.token,
      body: { roleIds: [builtInRoles.viewer.id] },
    });
    expect(
      (await app.request('POST', '/v1/organizations', { token: key, body: { name: 'After demotion' } }))
        .status,
    ).toBe(403);
    expect((await app.request('GET', '/v1/organizations', { token: key })).status).toBe(200);
    // Written directly, through the door the product uses for access changes.
    await withTenantAccessChange(app.database, owner.tenantId, (db) =>
      db.delete(memberships).where(eq(memberships.userId, admin.userId)),
    );
    expect((await app.request('GET', '/v1/organizations', { token: key })).status).toBe(401);
  });

  test('a key can never mint a key wider or longer-lived than itself', async () => {
    const manager = (await createKey(owner.token, { name: 'provisioning', scopes: ['api-keys:manage'] })).body
      .secret;
    // Wider than the creating key, though the owner behind it holds every permission.
    const wider = await createKey(manager, { name: 'wider', scopes: ['credits:grant', 'members:manage'] });
    expect(wider.status).toBe(422);
    expect(wider.body.errors).toEqual([
      { path: '/scopes', message: 'This API key does not have "credits:grant"' },
      { path: '/scopes', message: 'This API key does not have "members:manage"' },
    ]);
    const same = await createKey(manager, { name: 'same', scopes: ['api-keys:manage'] });
    expect(same.status).toBe(201);

    const expiry = new Date(Date.now() + 3_600_000).toISOString();
    const expiring = (
      await createKey(owner.token, {
        name: 'expiring',
        scopes: ['api-keys:manage', 'org:read'],
        expiresAt: expiry,
      })
    ).body.secret;
    for (const expiresAt of [undefined, new Date(Date.now() + 7_200_000).toISOString()]) {
      const longer = await createKey(expiring, { name: 'longer', scopes: ['org:read'], expiresAt });
      expect(longer.status).toBe(422);
      expect(longer.body.errors).toEqual([
        { path: '/expiresAt', message: `Must be set, and no later than ${expiry}` },
      ]);
    }
    const within = await createKey(expiring, {
      name: 'within',
      scopes: ['org:read'],
      expiresAt: new Date(Date.now() + 1_800_000).toISOString(),
    });
    expect(within.status).toBe(201);
    // Nothing wider was made along the way.
    const listed = await app.request('GET', '/v1/api-keys', { token: owner.token });
    const names = listed.body.items.map((key: { name: string }) => key.name);
    expect(names).not.toContain('wider');
    expect(names).not.toContain('longer');
  });

  test("session management is for signed-in people: a key cannot list or end its creator's sessions", async () => {
    const key = (await createKey(owner.token, { name: 'reader', scopes: ['org:read'] })).body.secret;
    const sessions = await app.request('GET', '/v1/auth/sessions', { token: owner.token });
    const sessionId = sessions.body.items[0].id;
    for (const [method, path] of [
      ['GET', '/v1/auth/sessions'],
      ['DELETE', `/v1/auth/sessions/${sessionId}`],
      ['POST', '/v1/auth/switch-tenant'],
      ['POST', '/v1/auth/verify-email/resend'],
    ] as const) {
      const response = await app.request(method, path, { token: key, body: { tenantId: owner.tenantId } });
      expect({ path, status: response.status, type: response.body.type }).toEqual({
        path,
        status: 403,
        type: '/problems/forbidden',
      });
    }
    const after = await app.request('GET', '/v1/auth/sessions', { token: owner.token });
    expect(after.body.items.map((session: { id: string }) => session.id)).toContain(sessionId);
  });

  test('a revoked or expired key stops at once; last use is recorded', async () => {
    const created = await createKey(owner.token, { name: 'short-lived', scopes: ['org:read'] });
    const key = created.body.secret;
    expect((await app.request('GET', '/v1/organizations', { token: key })).status).toBe(200);
    // Last use is stamped in the background, on another connection.
    let lastUsedAt: string | null = null;
    for (let tries = 0; tries < 50 && !lastUsedAt; tries++) {
      const used = await app.request('GET', '/v1/api-keys', { token: owner.token });
      lastUsedAt = used.body.items.find((item: { id: string }) => item.id === created.body.id).lastUsedAt;
      if (!lastUsedAt) await Bun.sleep(20);
    }
    expect(lastUsedAt).not.toBeNull();

    // Written directly, through the door the product uses for access changes.
    await withTenantAccessChange(app.database, owner.tenantId, (db) =>
      db
        .update(apiKeys)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(apiKeys.id, created.body.id)),
    );
    expect((await app.request('GET', '/v1/organizations', { token: key })).status).toBe(401);

    const other = await createKey(owner.token, { name: 'to revoke', scopes: ['org:read'] });
    expect(
      (await app.request('DELETE', `/v1/api-keys/${other.body.id}`, { token: owner.token })).status,
    ).toBe(204);
    expect((await app.request('GET', '/v1/organizations', { token: other.body.secret })).status).toBe(401);
    expect(
      (await app.request('DELETE', `/v1/api-keys/${other.body.id}`, { token: owner.token })).status,
    ).toBe(404);
  });

  test('bad input and unknown keys', async () => {
    const admin = await join('admin');
    const bad: unknown[] = [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['no:such'] },
      { name: '', scopes: ['org:read'] },
      { name: 'x', scopes: ['org:read'], expiresAt: 'tomorrow' },
      { name: 'x', scopes: ['org:read'], expiresAt: '2001-01-01T00:00:00Z' },
      { name: 'x', scopes: ['org:read'], tenantId: owner.tenantId },
    ];
    for (const body of bad) expect((await createKey(owner.token, body)).status).toBe(422);
    const beyond = await createKey(admin.token, { name: 'x', scopes: ['billing:manage'] });
    expect(beyond.status).toBe(422);
    expect(beyond.body.errors).toEqual([{ path: '/scopes', message: 'You do not hold "billing:manage"' }]);
    for (const token of ['wr_unknown', `wr_${'A'.repeat(43)}`]) {
      expect((await app.request('GET', '/v1/organizations', { token })).status).toBe(401);
    }
    const member = await join('member');
    expect((await createKey(member.token, { name: 'x', scopes: ['org:read'] })).status).toBe(403);
  });

  test("another tenant's keys are invisible, unrevocable, and a key reaches only its own tenant", async () => {
    const other = await app.signUp({ organizationName: 'Other' });
    const ours = await createKey(owner.token, { name: 'ours', scopes: ['org:read'] });
    const theirs = await app.request('GET', '/v1/api-keys', { token: other.token });
    expect(theirs.body.items.map((key: { id: string }) => key.id)).not.toContain(ours.body.id);
    expect((await app.request('DELETE', `/v1/api-keys/${ours.body.id}`, { token: other.token })).status).toBe(
      404,
    );
    const otherOrg = await app.request('GET', `/v1/organizations/${other.rootOrganizationId}`, {
      token: ours.body.secret,
    });
    expect([403, 404]).toContain(otherOrg.status);
    const list = await app.request('GET', '/v1/organizations', { token: ours.body.secret });
    expect(list.body.items.map((item: { id: string }) => item.id)).not.toContain(other.rootOrganizationId);
  });
});
