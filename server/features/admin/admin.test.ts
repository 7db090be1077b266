import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { sqlStateOf } from '../../../db/errors.ts';
import { tenants, users } from '../../../db/schema/index.ts';
import { withIdentity, withPlatformAdmin, withTenant } from '../../../db/tenant.ts';
import { auditEntriesOf, type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { grantPlatformAdmin } from './grant.ts';

let app: TestApp;
let admin: SignedUp;
let customer: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  admin = await app.signUp({ organizationName: 'Platform HQ' });
  customer = await app.signUp({ organizationName: 'Customer Inc' });
  expect(await grantPlatformAdmin(app.database, admin.email.toUpperCase())).toBe(true);
});
afterAll(() => app.dispose());

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe('platform administration', () => {
  test('is refused to everyone else', async () => {
    expect((await app.request('GET', '/v1/admin/tenants', { token: customer.token })).status).toBe(403);
    const patch = await app.request('PATCH', `/v1/admin/tenants/${admin.tenantId}`, {
      token: customer.token,
      body: { status: 'suspended' },
    });
    expect(patch.status).toBe(403);
    expect((await app.request('GET', '/v1/admin/tenants')).status).toBe(401);
    expect(await grantPlatformAdmin(app.database, 'nobody@example.test')).toBe(false);
  });

  test('lists every tenant with member counts', async () => {
    const list = await app.request('GET', '/v1/admin/tenants?limit=100', { token: admin.token });
    expect(list.status).toBe(200);
    const ids = list.body.items.map((tenant: { id: string }) => tenant.id);
    expect(ids).toEqual(expect.arrayContaining([admin.tenantId, customer.tenantId]));
    expect(list.body.items.find((tenant: { id: string }) => tenant.id === customer.tenantId)).toMatchObject({
      name: 'Customer Inc',
      status: 'active',
      memberCount: 1,
    });
  });

  test('suspending a tenant cuts its members off at once; it is recorded; reactivating restores access', async () => {
    const suspended = await app.request('PATCH', `/v1/admin/tenants/${customer.tenantId}`, {
      token: admin.token,
      body: { status: 'suspended' },
    });
    expect(suspended.body.status).toBe('suspended');
    expect((await app.request('GET', '/v1/organizations', { token: customer.token })).status).toBe(401);
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: customer.email, password: customer.password },
    });
    expect(login.status).toBe(403);

    // The audit entry is the record of it (admin_actions is no longer written).
    const recorded = (await auditEntriesOf(app.database, customer.tenantId)).filter(
      (entry) => entry.action === 'admin.tenant_updated',
    );
    expect(recorded).toEqual([
      expect.objectContaining({
        actorType: 'platform_admin',
        actorId: admin.userId,
        changes: { status: ['active', 'suspended'] },
      }),
    ]);

    await app.request('PATCH', `/v1/admin/tenants/${customer.tenantId}`, {
      token: admin.token,
      body: { status: 'active' },
    });
    expect((await app.request('GET', '/v1/organizations', { token: customer.token })).status).toBe(200);
  });

  test('the admin role itself shows nothing to a person who is not a platform admin', async () => {
    const seen = await withPlatformAdmin(app.database, customer.userId, (db) => db.select().from(tenants));
    expect(seen).toEqual([]);
    const changed = await withPlatformAdmin(app.database, customer.userId, (db) =>
      db.update(tenants).set({ status: 'suspended' }).returning(),
    );
    expect(changed).toEqual([]);
  });

  test('no request role can write the platform-admin flag', async () => {
    const createdAsAdmin = await failure(
      withIdentity(app.database, (db) =>
        db
          .insert(users)
          .values({ email: `sneaky-${crypto.randomUUID()}@example.test`, name: 'S', isPlatformAdmin: true }),
      ),
    );
    expect(sqlStateOf(createdAsAdmin)).toBe('42501');
    const asIdentity = await failure(
      withIdentity(app.database, (db) => db.update(users).set({ isPlatformAdmin: true }).where(sql`true`)),
    );
    expect(sqlStateOf(asIdentity)).toBe('42501');
    const asTenant = await failure(
      withTenant(app.database, customer.tenantId, (db) => db.update(users).set({ isPlatformAdmin: true })),
    );
    expect(sqlStateOf(asTenant)).toBe('42501');
  });

  test('bad input, unknown tenants, ended sessions', async () => {
    const path = `/v1/admin/tenants/${customer.tenantId}`;
    for (const body of [
      { status: 'deleted' },
      {},
      { planId: 'no-such-plan' },
      { planId: 'Pro!' },
      { planId: 7 },
    ]) {
      expect((await app.request('PATCH', path, { token: admin.token, body })).status).toBe(422);
    }
    const unknown = await app.request('PATCH', `/v1/admin/tenants/${Bun.randomUUIDv7()}`, {
      token: admin.token,
      body: { status: 'active' },
    });
    expect(unknown.status).toBe(404);
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: admin.email, password: admin.password },
    });
    await app.request('POST', '/v1/auth/logout', { token: login.body.accessToken });
    expect((await app.request('GET', '/v1/admin/tenants', { token: login.body.accessToken })).status).toBe(
      401,
    );
  });
});
