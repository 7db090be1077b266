import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { withTenant } from '../../../db/tenant.ts';
import { type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { type BuiltInRoleKey, builtInRoles } from '../access/permissions.ts';
import { addMember } from '../access/service.ts';

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Team Corp' });
});
afterAll(() => app.dispose());

async function join(tenantOwner: SignedUp, role: BuiltInRoleKey) {
  const person = await app.signUp({ organizationName: 'Home' });
  await withTenant(app.database, tenantOwner.tenantId, (db) =>
    addMember(db, { tenantId: tenantOwner.tenantId, userId: person.userId, role }),
  );
  const login = await app.request('POST', '/v1/auth/login', {
    body: { email: person.email, password: person.password, tenantId: tenantOwner.tenantId },
  });
  return { ...person, token: login.body.accessToken as string };
}

const patchMember = (token: string, userId: string, body: unknown) =>
  app.request('PATCH', `/v1/members/${userId}`, { token, body });

describe('permission catalog and roles', () => {
  test('the catalog and the built-in roles are listed', async () => {
    const catalog = await app.request('GET', '/v1/permissions', { token: owner.token });
    expect(catalog.body.items).toContainEqual({ key: 'org:write', description: expect.any(String) });
    expect(catalog.body.items).toHaveLength(14);
    const list = await app.request('GET', '/v1/roles', { token: owner.token });
    expect(list.body.items.slice(0, 5).map((role: { key: string }) => role.key)).toEqual([
      'owner',
      'admin',
      'billing',
      'member',
      'viewer',
    ]);
    expect(list.body.items[0]).toMatchObject({ builtIn: true, id: builtInRoles.owner.id });
  });

  test('a custom role: created, granted, changed (applies at once), and deleted when unused', async () => {
    const created = await app.request('POST', '/v1/roles', {
      token: owner.token,
      body: { name: 'Org editor', permissions: ['org:read'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: 'org-editor', builtIn: false, permissions: ['org:read'] });
    expect(
      (
        await app.request('POST', '/v1/roles', {
          token: owner.token,
          body: { name: 'Org editor', permissions: [] },
        })
      ).status,
    ).toBe(409);

    const viewer = await join(owner, 'viewer');
    const granted = await patchMember(owner.token, viewer.userId, {
      roleIds: [builtInRoles.viewer.id, created.body.id],
    });
    expect(granted.status).toBe(200);
    expect(granted.body.roles.map((role: { key: string }) => role.key).sort()).toEqual([
      'org-editor',
      'viewer',
    ]);
    const denied = await app.request('POST', '/v1/organizations', {
      token: viewer.token,
      body: { name: 'X' },
    });
    expect(denied.status).toBe(403);

    const widened = await app.request('PATCH', `/v1/roles/${created.body.id}`, {
      token: owner.token,
      body: { permissions: ['org:read', 'org:write'] },
    });
    expect(widened.status).toBe(200);
    const allowed = await app.request('POST', '/v1/organizations', {
      token: viewer.token,
      body: { name: 'By editor' },
    });
    expect(allowed.status).toBe(201);

    expect((await app.request('DELETE', `/v1/roles/${created.body.id}`, { token: owner.token })).status).toBe(
      409,
    );
    await patchMember(owner.token, viewer.userId, { roleIds: [builtInRoles.viewer.id] });
    expect((await app.request('DELETE', `/v1/roles/${created.body.id}`, { token: owner.token })).status).toBe(
      204,
    );
  });

  test('built-in roles cannot be changed or deleted', async () => {
    const patch = await app.request('PATCH', `/v1/roles/${builtInRoles.viewer.id}`, {
      token: owner.token,
      body: { permissions: ['org:write'] },
    });
    expect(patch.status).toBe(409);
    expect(
      (await app.request('DELETE', `/v1/roles/${builtInRoles.viewer.id}`, { token: owner.token })).status,
    ).toBe(409);
  });

  test('bad role input', async () => {
    const cases = [
      { name: 'X', permissions: ['not:a-permission'] },
      { name: '', permissions: [] },
      { name: 'X', permissions: ['org:read', 'org:read'] },
      { name: 'X', permissions: [], tenantId: owner.tenantId },
      { name: 'X' },
    ];
    for (const body of cases) {
      expect((await app.request('POST', '/v1/roles', { token: owner.token, body })).status).toBe(422);
    }
  });

  test('roles are managed only with roles:manage', async () => {
    const admin = await join(owner, 'admin');
    const member = await join(owner, 'member');
    expect(
      (
        await app.request('POST', '/v1/roles', {
          token: admin.token,
          body: { name: 'By admin', permissions: [] },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await app.request('POST', '/v1/roles', {
          token: member.token,
          body: { name: 'By member', permissions: [] },
        })
      ).status,
    ).toBe(403);
  });
});

describe('members', () => {
  test('lists members with their roles; pages by cursor', async () => {
    const team = await app.signUp({ organizationName: 'Listed' });
    await join(team, 'member');
    await join(team, 'viewer');
    const first = await app.request('GET', '/v1/members?limit=2', { token: team.token });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    const second = await app.request('GET', `/v1/members?limit=2&cursor=${first.body.nextCursor}`, {
      token: team.token,
    });
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const all = [...first.body.items, ...second.body.items];
    expect(all.find((member) => member.userId === team.userId)).toMatchObject({
      email: team.email,
      status: 'active',
      roles: [{ key: 'owner', organizationId: null, roleId: builtInRoles.owner.id, name: 'Owner' }],
    });
  });

  test('suspending and reactivating applies to the next request', async () => {
    const member = await join(owner, 'member');
    expect((await patchMember(owner.token, member.userId, { status: 'suspended' })).body.status).toBe(
      'suspended',
    );
    expect((await app.request('GET', '/v1/organizations', { token: member.token })).status).toBe(401);
    await patchMember(owner.token, member.userId, { status: 'active' });
    expect((await app.request('GET', '/v1/organizations', { token: member.token })).status).toBe(200);
  });

  test('removing a member ends their access', async () => {
    const member = await join(owner, 'member');
    expect((await app.request('DELETE', `/v1/members/${member.userId}`, { token: owner.token })).status).toBe(
      204,
    );
    expect((await app.request('GET', '/v1/organizations', { token: member.token })).status).toBe(401);
    expect((await app.request('DELETE', `/v1/members/${member.userId}`, { token: owner.token })).status).toBe(
      404,
    );
  });

  test('the last owner cannot be demoted, suspended or removed', async () => {
    const solo = await app.signUp({ organizationName: 'Solo' });
    for (const attempt of [
      () => patchMember(solo.token, solo.userId, { roleIds: [builtInRoles.admin.id] }),
      () => patchMember(solo.token, solo.userId, { status: 'suspended' }),
      () => app.request('DELETE', `/v1/members/${solo.userId}`, { token: solo.token }),
    ]) {
      const response = await attempt();
      expect(response.status).toBe(409);
      expect(response.body.type).toBe('/problems/last-owner');
    }
    const me = await app.request('GET', '/v1/me', { token: solo.token });
    expect(me.body.roles).toEqual(['owner']);
  });

  test('two owners demoting each other at once: one demotion wins, one owner stays', async () => {
    const team = await app.signUp({ organizationName: 'Duel' });
    const second = await join(team, 'owner');
    const results = await Promise.all([
      patchMember(team.token, second.userId, { roleIds: [builtInRoles.member.id] }),
      patchMember(second.token, team.userId, { roleIds: [builtInRoles.member.id] }),
    ]);
    const statuses = results.map((result) => result.status).sort();
    // Either one demotion succeeds and the other is refused (last owner, or no longer allowed),
    // and never both.
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1] ?? 0);
    const members = await app.request('GET', '/v1/members', {
      token: results[0]?.status === 200 ? team.token : second.token,
    });
    const owners = members.body.items.filter((member: { roles: Array<{ key: string }> }) =>
      member.roles.some((role) => role.key === 'owner'),
    );
    expect(owners).toHaveLength(1);
  });

  test('members are managed only with members:manage', async () => {
    const admin = await join(owner, 'admin');
    const member = await join(owner, 'member');
    const target = await join(owner, 'viewer');
    expect((await patchMember(member.token, target.userId, { status: 'suspended' })).status).toBe(403);
    expect(
      (await app.request('DELETE', `/v1/members/${target.userId}`, { token: member.token })).status,
    ).toBe(403);
    expect(
      (await patchMember(admin.token, target.userId, { roleIds: [builtInRoles.member.id] })).status,
    ).toBe(200);
  });

  test('bad member input', async () => {
    const target = await join(owner, 'viewer');
    for (const body of [
      {},
      { roleIds: [] },
      { roleIds: ['nope'] },
      { status: 'gone' },
      { roleIds: [Bun.randomUUIDv7()] },
    ]) {
      expect((await patchMember(owner.token, target.userId, body)).status).toBe(422);
    }
    expect((await patchMember(owner.token, 'not-a-uuid', { status: 'active' })).status).toBe(404);
    expect((await patchMember(owner.token, Bun.randomUUIDv7(), { status: 'active' })).status).toBe(404);
  });
});

describe('members and roles across tenants', () => {
  test("another tenant's members and custom roles are invisible and untouchable (404 / 422)", async () => {
    const other = await app.signUp({ organizationName: 'Other' });
    const ownMember = await join(owner, 'member');
    const customOfOwner = await app.request('POST', '/v1/roles', {
      token: owner.token,
      body: { name: 'Secret role', permissions: ['audit:read'] },
    });

    const list = await app.request('GET', '/v1/members', { token: other.token });
    expect(list.body.items.map((member: { userId: string }) => member.userId)).toEqual([other.userId]);
    expect((await patchMember(other.token, ownMember.userId, { status: 'suspended' })).status).toBe(404);
    expect(
      (await app.request('DELETE', `/v1/members/${ownMember.userId}`, { token: other.token })).status,
    ).toBe(404);
    expect((await app.request('GET', '/v1/organizations', { token: ownMember.token })).status).toBe(200);

    const roles = await app.request('GET', '/v1/roles', { token: other.token });
    expect(roles.body.items.map((role: { id: string }) => role.id)).not.toContain(customOfOwner.body.id);
    expect(
      (
        await app.request('PATCH', `/v1/roles/${customOfOwner.body.id}`, {
          token: other.token,
          body: { name: 'Mine' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await app.request('DELETE', `/v1/roles/${customOfOwner.body.id}`, { token: other.token })).status,
    ).toBe(404);
    const grant = await patchMember(other.token, other.userId, {
      roleIds: [builtInRoles.owner.id, customOfOwner.body.id],
    });
    expect(grant.status).toBe(422);
  });
});
