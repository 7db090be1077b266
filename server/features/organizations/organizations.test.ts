import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { withTenant } from '../../../db/tenant.ts';
import { type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { addMember } from '../access/service.ts';

let app: TestApp;
let alice: SignedUp; // tenant A
let bob: SignedUp; // tenant B

beforeAll(async () => {
  app = await startTestApp();
  [alice, bob] = await Promise.all([
    app.signUp({ organizationName: 'Acme' }),
    app.signUp({ organizationName: 'Globex' }),
  ]);
});
afterAll(() => app.dispose());

const create = (who: SignedUp, body: unknown) =>
  app.request('POST', '/v1/organizations', { token: who.token, body });

describe('organizations', () => {
  test('signup created the root organization', async () => {
    const list = await app.request('GET', '/v1/organizations', { token: alice.token });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: alice.rootOrganizationId, name: 'Acme', parentId: null }),
    ]);
    expect(list.body.nextCursor).toBeNull();
  });

  test('create, read, rename and move within a hierarchy', async () => {
    const sales = await create(alice, { name: '  Sales ', parentId: alice.rootOrganizationId });
    expect(sales.status).toBe(201);
    expect(sales.body).toEqual({
      id: expect.any(String),
      name: 'Sales',
      parentId: alice.rootOrganizationId,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const emea = await create(alice, { name: 'EMEA', parentId: sales.body.id });
    const got = await app.request('GET', `/v1/organizations/${emea.body.id}`, { token: alice.token });
    expect(got.body).toEqual(emea.body);

    const renamed = await app.request('PATCH', `/v1/organizations/${emea.body.id}`, {
      token: alice.token,
      body: { name: 'Europe' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Europe', parentId: sales.body.id });

    const moved = await app.request('PATCH', `/v1/organizations/${emea.body.id}`, {
      token: alice.token,
      body: { parentId: alice.rootOrganizationId },
    });
    expect(moved.body.parentId).toBe(alice.rootOrganizationId);
    const detached = await app.request('PATCH', `/v1/organizations/${emea.body.id}`, {
      token: alice.token,
      body: { parentId: null },
    });
    expect(detached.body.parentId).toBeNull();
  });

  test('cycles are rejected, directly and through descendants', async () => {
    const top = await create(alice, { name: 'Top' });
    const middle = await create(alice, { name: 'Middle', parentId: top.body.id });
    const bottom = await create(alice, { name: 'Bottom', parentId: middle.body.id });

    const self = await app.request('PATCH', `/v1/organizations/${top.body.id}`, {
      token: alice.token,
      body: { parentId: top.body.id },
    });
    expect(self.status).toBe(422);
    expect(self.body.type).toBe('/problems/organization-cycle');

    const loop = await app.request('PATCH', `/v1/organizations/${top.body.id}`, {
      token: alice.token,
      body: { parentId: bottom.body.id },
    });
    expect(loop.status).toBe(422);
    expect(loop.body.type).toBe('/problems/organization-cycle');
    const unchanged = await app.request('GET', `/v1/organizations/${top.body.id}`, { token: alice.token });
    expect(unchanged.body.parentId).toBeNull();
  });

  test('concurrent opposite moves cannot build a cycle', async () => {
    const a = await create(alice, { name: 'Left' });
    const b = await create(alice, { name: 'Right' });
    const results = await Promise.all([
      app.request('PATCH', `/v1/organizations/${a.body.id}`, {
        token: alice.token,
        body: { parentId: b.body.id },
      }),
      app.request('PATCH', `/v1/organizations/${b.body.id}`, {
        token: alice.token,
        body: { parentId: a.body.id },
      }),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual([200, 422]);
  });

  test('an organization with children cannot be deleted; a leaf can', async () => {
    const parent = await create(alice, { name: 'Parent' });
    const child = await create(alice, { name: 'Child', parentId: parent.body.id });
    const blocked = await app.request('DELETE', `/v1/organizations/${parent.body.id}`, {
      token: alice.token,
    });
    expect(blocked.status).toBe(409);
    expect(blocked.body.type).toBe('/problems/organization-has-children');

    expect(
      (await app.request('DELETE', `/v1/organizations/${child.body.id}`, { token: alice.token })).status,
    ).toBe(204);
    expect(
      (await app.request('DELETE', `/v1/organizations/${parent.body.id}`, { token: alice.token })).status,
    ).toBe(204);
    expect(
      (await app.request('GET', `/v1/organizations/${parent.body.id}`, { token: alice.token })).status,
    ).toBe(404);
  });

  test('pagination walks every organization once, in creation order', async () => {
    const fresh = await app.signUp({ organizationName: 'Paged' });
    for (let index = 0; index < 6; index++) await create(fresh, { name: `Org ${index}` });
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const page = await app.request('GET', `/v1/organizations${query}`, { token: fresh.token });
      expect(page.status).toBe(200);
      names.push(...page.body.items.map((item: { name: string }) => item.name));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(names).toEqual(['Paged', 'Org 0', 'Org 1', 'Org 2', 'Org 3', 'Org 4', 'Org 5']);
    expect(pages).toBe(3);
  });

  test('a parent that does not exist is a validation error on parentId', async () => {
    const response = await create(alice, { name: 'Orphan', parentId: Bun.randomUUIDv7() });
    expect(response.status).toBe(422);
    expect(response.body.errors).toEqual([{ path: '/parentId', message: expect.any(String) }]);
  });
});

describe('organizations across tenants', () => {
  let secretOfA: { id: string; name: string };

  beforeAll(async () => {
    secretOfA = (await create(alice, { name: 'Secret', parentId: alice.rootOrganizationId })).body;
  });

  test("tenant B's list never contains tenant A's organizations", async () => {
    const list = await app.request('GET', '/v1/organizations?limit=100', { token: bob.token });
    expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([bob.rootOrganizationId]);
  });

  test("tenant B gets 404 reading, updating, moving or deleting tenant A's organization", async () => {
    const path = `/v1/organizations/${secretOfA.id}`;
    const attempts = await Promise.all([
      app.request('GET', path, { token: bob.token }),
      app.request('PATCH', path, { token: bob.token, body: { name: 'pwned' } }),
      app.request('PATCH', path, { token: bob.token, body: { parentId: bob.rootOrganizationId } }),
      app.request('PATCH', path, { token: bob.token, body: { parentId: null } }),
      app.request('DELETE', path, { token: bob.token }),
    ]);
    for (const attempt of attempts) {
      expect(attempt.status).toBe(404);
      expect(attempt.body.type).toBe('/problems/not-found');
    }
    const still = await app.request('GET', path, { token: alice.token });
    expect(still.body).toMatchObject({ name: 'Secret', parentId: alice.rootOrganizationId });
  });

  test("tenant B cannot attach its organizations under tenant A's", async () => {
    const created = await create(bob, { name: 'Mole', parentId: secretOfA.id });
    expect(created.status).toBe(422);
    const moved = await app.request('PATCH', `/v1/organizations/${bob.rootOrganizationId}`, {
      token: bob.token,
      body: { parentId: secretOfA.id },
    });
    expect(moved.status).toBe(422);
    const bobs = await app.request('GET', '/v1/organizations', { token: bob.token });
    expect(bobs.body.items).toHaveLength(1);
    expect(bobs.body.items[0].parentId).toBeNull();
  });
});

describe('organization permissions', () => {
  test('a viewer can read but not write; the answer is 403 and nothing changes', async () => {
    const viewer = await app.signUp({ organizationName: 'Viewer Home' });
    await withTenant(app.database, alice.tenantId, (db) =>
      addMember(db, { tenantId: alice.tenantId, userId: viewer.userId, role: 'viewer' }),
    );
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: viewer.email, password: viewer.password, tenantId: alice.tenantId },
    });
    expect(login.status).toBe(200);
    const token = login.body.accessToken;
    const before = await app.request('GET', '/v1/organizations?limit=100', { token });
    expect(before.status).toBe(200);

    const denied = await create({ ...viewer, token }, { name: 'Nope' });
    expect(denied.status).toBe(403);
    expect(denied.body.type).toBe('/problems/forbidden');
    const deleteDenied = await app.request('DELETE', `/v1/organizations/${alice.rootOrganizationId}`, {
      token,
    });
    expect(deleteDenied.status).toBe(403);

    const after = await app.request('GET', '/v1/organizations?limit=100', { token });
    expect(after.body.items).toEqual(before.body.items);
  });
});
