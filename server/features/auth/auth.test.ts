import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type SignedUp, startTestApp, type TestApp, uniqueEmail } from '../../testing/harness.ts';

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ name: 'Olivia Owner', organizationName: 'Initech' });
});
afterAll(() => app.dispose());

const _encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('sign-up', () => {
  test('creates user, tenant, root organization and an owner membership', async () => {
    const email = uniqueEmail('new');
    const response = await app.request('POST', '/v1/auth/signup', {
      body: { email, password: 'a long password', name: 'New Person', organizationName: 'Hooli' },
    });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      user: {
        id: expect.any(String),
        email,
        name: 'New Person',
        emailVerified: false,
        createdAt: expect.any(String),
      },
      tenant: {
        id: expect.any(String),
        name: 'Hooli',
        slug: expect.stringMatching(/^hooli-/),
        createdAt: expect.any(String),
      },
      organization: expect.objectContaining({ name: 'Hooli', parentId: null }),
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^rt_/),
      expiresIn: 900,
    });
    expect(JSON.stringify(response.body)).not.toContain('password');
    const me = await app.request('GET', '/v1/me', { token: response.body.accessToken });
    expect(me.body.roles).toEqual(['owner']);
    expect(me.body.permissions).toContain('org:write');
  });

  test('the same email, in any letter case, cannot sign up twice', async () => {
    const again = await app.request('POST', '/v1/auth/signup', {
      body: {
        email: owner.email.toUpperCase(),
        password: 'another password',
        name: 'X',
        organizationName: 'Y',
      },
    });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('/problems/email-taken');
  });

  test('concurrent sign-ups with one email create exactly one account', async () => {
    const email = uniqueEmail('race');
    const body = { email, password: 'a long password', name: 'Racer', organizationName: 'Race' };
    const results = await Promise.all([1, 2, 3].map(() => app.request('POST', '/v1/auth/signup', { body })));
    expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409]);
  });
});

describe('sign-in', () => {
  test('returns a token for the first tenant and lists the tenants', async () => {
    const response = await app.request('POST', '/v1/auth/login', {
      body: { email: ` ${owner.email.toUpperCase()} `, password: owner.password },
    });
    expect(response.status).toBe(200);
    expect(response.body.user.id).toBe(owner.userId);
    expect(response.body.tenants).toEqual([
      { id: owner.tenantId, name: 'Initech', slug: expect.any(String), role: 'owner', roles: ['owner'] },
    ]);
    const me = await app.request('GET', '/v1/me', { token: response.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.tenant.id).toBe(owner.tenantId);
  });

  test('a wrong password and an unknown email get the same 401', async () => {
    const wrongPassword = await app.request('POST', '/v1/auth/login', {
      body: { email: owner.email, password: 'not the password' },
    });
    const unknownEmail = await app.request('POST', '/v1/auth/login', {
      body: { email: uniqueEmail('ghost'), password: 'not the password' },
    });
    for (const response of [wrongPassword, unknownEmail]) {
      expect(response.status).toBe(401);
      expect(response.body.type).toBe('/problems/invalid-credentials');
    }
    expect(wrongPassword.body.detail).toBe(unknownEmail.body.detail);
  });

  test('asking for a tenant one does not belong to is refused', async () => {
    const other = await app.signUp();
    const response = await app.request('POST', '/v1/auth/login', {
      body: { email: owner.email, password: owner.password, tenantId: other.tenantId },
    });
    expect(response.status).toBe(403);
  });
});

describe('access tokens', () => {
  const _attack = async (token: string) => {
    const response = await app.request('GET', '/v1/me', { token });
    return response;
  };

  test('a missing or non-bearer Authorization header gets 401', async () => {
    expect((await app.request('GET', '/v1/me')).status).toBe(401);
    const basic = await app.request('GET', '/v1/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
    expect(basic.body.type).toBe('/problems/unauthorized');
  });

  // Forged, expired and ended credentials on every route: server/security/auth.test.ts.

  test('a valid token whose membership no longer exists is refused by /v1/me', async () => {
    const token = await app.tokens.sign({ userId: owner.userId, tenantId: Bun.randomUUIDv7() });
    expect((await app.request('GET', '/v1/me', { token })).status).toBe(401);
  });
});
