import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { withTenant } from '../../../db/tenant.ts';
import { type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { addMember } from '../access/service.ts';

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Brand Co' });
});
afterAll(() => app.dispose());

const patch = (token: string, body: unknown) => app.request('PATCH', '/v1/tenant', { token, body });

describe('tenant settings and branding', () => {
  test('read, change and clear', async () => {
    const initial = await app.request('GET', '/v1/tenant', { token: owner.token });
    expect(initial.body).toMatchObject({
      id: owner.tenantId,
      name: 'Brand Co',
      status: 'active',
      branding: { logoUrl: null, primaryColor: null, customDomain: null },
    });
    const changed = await patch(owner.token, {
      name: 'Brand Company',
      branding: {
        logoUrl: 'https://cdn.example.com/logo.svg',
        primaryColor: '#4F46E5',
        customDomain: 'App.Brand.Example',
      },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      name: 'Brand Company',
      branding: {
        logoUrl: 'https://cdn.example.com/logo.svg',
        primaryColor: '#4f46e5',
        customDomain: 'app.brand.example',
      },
    });
    const cleared = await patch(owner.token, { branding: { logoUrl: null } });
    expect(cleared.body.branding).toEqual({
      logoUrl: null,
      primaryColor: '#4f46e5',
      customDomain: 'app.brand.example',
    });
  });

  test('a custom domain belongs to one tenant only', async () => {
    const other = await app.signUp();
    await patch(owner.token, { branding: { customDomain: 'taken.example.com' } });
    const clash = await patch(other.token, { branding: { customDomain: 'TAKEN.example.com' } });
    expect(clash.status).toBe(409);
    expect(
      (await app.request('GET', '/v1/tenant', { token: other.token })).body.branding.customDomain,
    ).toBeNull();
  });

  test('bad input', async () => {
    for (const body of [
      {},
      { branding: {} },
      { branding: { logoUrl: 'http://insecure.example.com/logo.png' } },
      { branding: { logoUrl: 'javascript:alert(1)' } },
      { branding: { primaryColor: 'red' } },
      { branding: { primaryColor: '#12345' } },
      { branding: { customDomain: 'not a domain' } },
      { branding: { customDomain: 'https://app.example.com' } },
      { name: '' },
      { status: 'suspended' },
      { id: owner.tenantId },
    ]) {
      expect({ body, status: (await patch(owner.token, body)).status }).toEqual({ body, status: 422 });
    }
  });

  test('only tenant:manage may change it; each tenant sees only itself', async () => {
    const person = await app.signUp();
    await withTenant(app.database, owner.tenantId, (db) =>
      addMember(db, { tenantId: owner.tenantId, userId: person.userId, role: 'member' }),
    );
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: person.password, tenantId: owner.tenantId },
    });
    const token = login.body.accessToken;
    expect((await app.request('GET', '/v1/tenant', { token })).body.id).toBe(owner.tenantId);
    expect((await patch(token, { name: 'Hijacked' })).status).toBe(403);
    const other = await app.signUp({ organizationName: 'Elsewhere' });
    expect((await app.request('GET', '/v1/tenant', { token: other.token })).body.id).toBe(other.tenantId);
    expect((await app.request('GET', '/v1/tenant', { token: owner.token })).body.name).not.toBe('Hijacked');
  });

  test("renames racing the tenant's other changes all succeed (no deadlock on the tenant row)", async () => {
    // A rename locks the tenant row, then publishes. Deleting an organization publishes first, then
    // records its audit entry, whose foreign key takes a key-share lock on that row. Found by the fuzz
    // suite on Postgres.
    const racer = await app.signUp({ organizationName: 'Racing Co' });
    const ids: string[] = [];
    for (let index = 0; index < 30; index++) {
      const created = await app.request('POST', '/v1/organizations', {
        token: racer.token,
        body: { name: `Team ${index}` },
      });
      ids.push(created.body.id);
    }
    const answers = await Promise.all(
      ids.flatMap((id, index) => [
        app.request('DELETE', `/v1/organizations/${id}`, { token: racer.token }),
        patch(racer.token, { name: `Racing Co ${index}` }),
      ]),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([
      ...Array.from({ length: 30 }, () => 200),
      ...Array.from({ length: 30 }, () => 204),
    ]);
  });
});
