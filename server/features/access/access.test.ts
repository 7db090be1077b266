import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, eq, sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import { sqlStateOf } from '../../../db/errors.ts';
import { memberships, roleAssignments, roles } from '../../../db/schema/index.ts';
import { withTenant, withTenantAccessChange } from '../../../db/tenant.ts';
import { type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { builtInRoleKeys, builtInRoles } from './permissions.ts';
import { addMember } from './service.ts';

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Access Corp' });
});
afterAll(() => app.dispose());

/** A new person who is also a member of the owner's tenant with `role`, signed in there. */
async function memberWithRole(role: (typeof builtInRoleKeys)[number], organizationId?: string) {
  const person = await app.signUp({ organizationName: 'Own home' });
  await withTenant(app.database, owner.tenantId, async (db) => {
    await db.insert(memberships).values({ tenantId: owner.tenantId, userId: person.userId });
    await db.insert(roleAssignments).values({
      tenantId: owner.tenantId,
      userId: person.userId,
      roleId: builtInRoles[role].id,
      organizationId: organizationId ?? null,
    });
  });
  const login = await app.request('POST', '/v1/auth/login', {
    body: { email: person.email, password: person.password, tenantId: owner.tenantId },
  });
  expect(login.status).toBe(200);
  return { ...person, token: login.body.accessToken as string };
}

const createOrg = (token: string, body: unknown) => app.request('POST', '/v1/organizations', { token, body });

describe('the permission catalog in the database', () => {
  test('built-in roles match the catalog in code', async () => {
    const rows = await withTenant(app.database, owner.tenantId, (db) =>
      db.select().from(roles).where(sql`${roles.tenantId} is null`),
    );
    for (const key of builtInRoleKeys) {
      const row = rows.find((candidate) => candidate.key === key);
      expect({ key, id: row?.id, permissions: [...(row?.permissions ?? [])].sort() }).toEqual({
        key,
        id: builtInRoles[key].id,
        permissions: [...builtInRoles[key].permissions].sort(),
      });
    }
  });
});

describe('built-in roles × organization routes', () => {
  const writeAllowed = new Set(['owner', 'admin']);
  for (const role of builtInRoleKeys) {
    test(`${role}: reads ${writeAllowed.has(role) ? 'and writes' : 'only'}`, async () => {
      const member = await memberWithRole(role);
      expect((await app.request('GET', '/v1/organizations', { token: member.token })).status).toBe(200);
      expect(
        (await app.request('GET', `/v1/organizations/${owner.rootOrganizationId}`, { token: member.token }))
          .status,
      ).toBe(200);
      const created = await createOrg(member.token, {
        name: `By ${role}`,
        parentId: owner.rootOrganizationId,
      });
      expect(created.status).toBe(writeAllowed.has(role) ? 201 : 403);
      const target = created.status === 201 ? created.body.id : owner.rootOrganizationId;
      const renamed = await app.request('PATCH', `/v1/organizations/${target}`, {
        token: member.token,
        body: { name: `Renamed by ${role}` },
      });
      expect(renamed.status).toBe(writeAllowed.has(role) ? 200 : 403);
      if (created.status === 201) {
        expect(
          (await app.request('DELETE', `/v1/organizations/${target}`, { token: member.token })).status,
        ).toBe(204);
      } else {
        expect(
          (await app.request('DELETE', `/v1/organizations/${target}`, { token: member.token })).status,
        ).toBe(403);
        expect(created.body).toMatchObject({
          type: '/problems/forbidden',
          detail: 'This action needs the "org:write" permission.',
        });
      }
    });
  }
});

describe('changes take effect on the very next request, with the same token', () => {
  test('a demoted admin loses write access at once', async () => {
    const admin = await memberWithRole('admin');
    expect((await createOrg(admin.token, { name: 'Before demotion' })).status).toBe(201);
    // Written directly, through the door the product uses for access changes.
    await withTenantAccessChange(app.database, owner.tenantId, (db) =>
      db
        .update(roleAssignments)
        .set({ roleId: builtInRoles.viewer.id })
        .where(and(eq(roleAssignments.userId, admin.userId), eq(roleAssignments.tenantId, owner.tenantId))),
    );
    const after = await createOrg(admin.token, { name: 'After demotion' });
    expect(after.status).toBe(403);
    expect((await app.request('GET', '/v1/organizations', { token: admin.token })).status).toBe(200);
    const me = await app.request('GET', '/v1/me', { token: admin.token });
    expect(me.body.roles).toEqual(['viewer']);
    expect(me.body.permissions).not.toContain('org:write');
  });

  test('a removed member is refused (401) on every route at once', async () => {
    const member = await memberWithRole('member');
    await withTenant(app.database, owner.tenantId, (db) =>
      db.delete(memberships).where(eq(memberships.userId, member.userId)),
    );
    for (const [method, path] of [
      ['GET', '/v1/organizations'],
      ['GET', `/v1/organizations/${owner.rootOrganizationId}`],
      ['GET', '/v1/me'],
    ] as const) {
      const response = await app.request(method, path, { token: member.token });
      expect({ path, status: response.status }).toEqual({ path, status: 401 });
    }
    // Removing the membership also removed its role assignments (cascade).
    const left = await withTenant(app.database, owner.tenantId, (db) =>
      db.select().from(roleAssignments).where(eq(roleAssignments.userId, member.userId)),
    );
    expect(left).toEqual([]);
  });

  test('a suspended member is refused until reactivated', async () => {
    const member = await memberWithRole('member');
    const setStatus = (status: 'active' | 'suspended') =>
      withTenant(app.database, owner.tenantId, (db) =>
        db.update(memberships).set({ status }).where(eq(memberships.userId, member.userId)),
      );
    await setStatus('suspended');
    expect((await app.request('GET', '/v1/organizations', { token: member.token })).status).toBe(401);
    await setStatus('active');
    expect((await app.request('GET', '/v1/organizations', { token: member.token })).status).toBe(200);
  });

  test('the access token of a logged-out session stops working at once', async () => {
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: owner.email, password: owner.password },
    });
    const token = login.body.accessToken;
    expect((await app.request('GET', '/v1/organizations', { token })).status).toBe(200);
    expect((await app.request('POST', '/v1/auth/logout', { token })).status).toBe(204);
    expect((await app.request('GET', '/v1/organizations', { token })).status).toBe(401);
    expect((await createOrg(token, { name: 'After logout' })).status).toBe(401);
  });
});

describe('roles granted on one organization', () => {
  test('apply to that organization and its descendants only', async () => {
    const east = await createOrg(owner.token, { name: 'East', parentId: owner.rootOrganizationId });
    const west = await createOrg(owner.token, { name: 'West', parentId: owner.rootOrganizationId });
    const eastTeam = await createOrg(owner.token, { name: 'East team', parentId: east.body.id });
    const regional = await memberWithRole('admin', east.body.id);

    expect((await createOrg(regional.token, { name: 'East sub', parentId: eastTeam.body.id })).status).toBe(
      201,
    );
    const rename = await app.request('PATCH', `/v1/organizations/${eastTeam.body.id}`, {
      token: regional.token,
      body: { name: 'East team renamed' },
    });
    expect(rename.status).toBe(200);

    expect((await createOrg(regional.token, { name: 'West sub', parentId: west.body.id })).status).toBe(403);
    expect((await createOrg(regional.token, { name: 'A new root' })).status).toBe(403);
    const moveOut = await app.request('PATCH', `/v1/organizations/${eastTeam.body.id}`, {
      token: regional.token,
      body: { parentId: west.body.id },
    });
    expect(moveOut.status).toBe(403);
    const westAfter = await app.request('GET', `/v1/organizations/${west.body.id}`, { token: owner.token });
    expect(westAfter.body.name).toBe('West');
    // Reading inside the subtree is allowed; listing the whole tenant needs a tenant-wide grant.
    expect(
      (await app.request('GET', `/v1/organizations/${eastTeam.body.id}`, { token: regional.token })).status,
    ).toBe(200);
    expect(
      (await app.request('GET', `/v1/organizations/${west.body.id}`, { token: regional.token })).status,
    ).toBe(403);
    expect((await app.request('GET', '/v1/organizations', { token: regional.token })).status).toBe(403);
  });
});

describe('role assignments across tenants', () => {
  test("a tenant cannot grant another tenant's custom role, even with raw SQL", async () => {
    const other = await app.signUp({ organizationName: 'Other tenant' });
    const [customOfOther] = await withTenant(app.database, other.tenantId, (db) =>
      db
        .insert(roles)
        .values({ tenantId: other.tenantId, key: 'auditor', name: 'Auditor', permissions: ['audit:read'] })
        .returning(),
    );
    const attempt = await withTenant(app.database, owner.tenantId, (db) =>
      db
        .insert(roleAssignments)
        .values({ tenantId: owner.tenantId, userId: owner.userId, roleId: customOfOther?.id ?? '' }),
    ).then(
      () => null,
      (error: unknown) => error,
    );
    expect(sqlStateOf(attempt)).toBe('42501'); // new row violates row-level security policy
    const visible = await withTenant(app.database, owner.tenantId, (db) =>
      selectRows<{ key: string }>(db, sql`select key from roles order by key`),
    );
    expect(visible.map((row) => row.key)).not.toContain('auditor');
  });

  test('a token for a tenant where the person is not a member is refused (401)', async () => {
    const other = await app.signUp();
    const forgedTenant = await app.tokens.sign({ userId: other.userId, tenantId: owner.tenantId });
    expect((await app.request('GET', '/v1/organizations', { token: forgedTenant })).status).toBe(401);
  });
});

describe('membership rows', () => {
  test('addMember gives a tenant-wide built-in role', async () => {
    const person = await app.signUp();
    await withTenant(app.database, owner.tenantId, (db) =>
      addMember(db, { tenantId: owner.tenantId, userId: person.userId, role: 'billing' }),
    );
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: person.password, tenantId: owner.tenantId },
    });
    expect((await app.request('GET', '/v1/me', { token: login.body.accessToken })).body.roles).toEqual([
      'billing',
    ]);
  });
});
