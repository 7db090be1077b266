import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { memberships, refreshTokens } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import { type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { addMember } from '../access/service.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.dispose());

const refresh = (refreshToken: unknown) =>
  app.request('POST', '/v1/auth/refresh', { body: { refreshToken } });
const me = (token: string) => app.request('GET', '/v1/me', { token });

describe('refresh-token rotation', () => {
  test('a refresh gives a new pair; each refresh token works once', async () => {
    const person = await app.signUp();
    const first = await refresh(person.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^rt_/),
      expiresIn: 900,
    });
    expect(first.body.refreshToken).not.toBe(person.refreshToken);
    expect((await me(first.body.accessToken)).body.user.id).toBe(person.userId);

    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);
  });

  test('re-using a spent refresh token revokes the whole session', async () => {
    const person = await app.signUp();
    const rotated = await refresh(person.refreshToken);
    expect(rotated.status).toBe(200);

    const replay = await refresh(person.refreshToken);
    expect(replay.status).toBe(401);
    expect(replay.body.type).toBe('/problems/unauthorized');
    // The legitimate newest token dies with the session.
    expect((await refresh(rotated.body.refreshToken)).status).toBe(401);
    // The session is over: its access token cannot even list the person's sessions any more.
    const sessions = await app.request('GET', '/v1/auth/sessions', { token: person.token });
    expect(sessions.status).toBe(401);
    expect(sessions.body.type).toBe('/problems/unauthorized');
  });

  test('concurrent refreshes with one token: exactly one wins', async () => {
    const person = await app.signUp();
    const results = await Promise.all([1, 2, 3, 4].map(() => refresh(person.refreshToken)));
    expect(results.filter((result) => result.status === 200)).toHaveLength(1);
    expect(results.filter((result) => result.status === 401)).toHaveLength(3);
  });

  test('garbage, unknown and malformed refresh tokens are refused without a hint', async () => {
    for (const token of ['rt_unknown', 'garbage', `rt_${'A'.repeat(43)}`]) {
      const response = await refresh(token);
      expect(response.status).toBe(401);
      expect(response.body.detail).toBe('The refresh token is invalid, expired or revoked; sign in again.');
    }
    expect((await refresh(42)).status).toBe(422);
    expect((await refresh('x'.repeat(500))).status).toBe(422);
    expect((await app.request('POST', '/v1/auth/refresh', { body: {} })).status).toBe(422);
  });

  test('an expired refresh token is refused', async () => {
    const person = await app.signUp();
    await app.database.transaction({ role: 'app_identity' }, (db) =>
      db.update(refreshTokens).set({ expiresAt: new Date(Date.now() - 1000) }),
    );
    expect((await refresh(person.refreshToken)).status).toBe(401);
  });

  test('a refresh fails once the membership behind the session is gone', async () => {
    const owner = await app.signUp();
    const member = await app.signUp();
    await withTenant(app.database, owner.tenantId, (db) =>
      addMember(db, { tenantId: owner.tenantId, userId: member.userId, role: 'member' }),
    );
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: member.email, password: member.password, tenantId: owner.tenantId },
    });
    await withTenant(app.database, owner.tenantId, (db) =>
      db.delete(memberships).where(eq(memberships.userId, member.userId)),
    );
    expect((await refresh(login.body.refreshToken)).status).toBe(401);
  });
});

describe('logout and the session list', () => {
  let person: SignedUp;
  let laptop: { accessToken: string; refreshToken: string };

  beforeAll(async () => {
    person = await app.signUp();
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: person.password },
      headers: { 'user-agent': 'Laptop browser' },
    });
    laptop = login.body;
  });

  test('lists the active sessions and marks the current one', async () => {
    const list = await app.request('GET', '/v1/auth/sessions', { token: laptop.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    const current = list.body.items.filter((item: { current: boolean }) => item.current);
    expect(current).toHaveLength(1);
    expect(current[0]).toMatchObject({ userAgent: 'Laptop browser', tenantId: person.tenantId });
  });

  test("revoking another device's session stops its refresh token", async () => {
    const list = await app.request('GET', '/v1/auth/sessions', { token: laptop.accessToken });
    const other = list.body.items.find((item: { current: boolean }) => !item.current);
    const revoked = await app.request('DELETE', `/v1/auth/sessions/${other.id}`, {
      token: laptop.accessToken,
    });
    expect(revoked.status).toBe(204);
    expect((await refresh(person.refreshToken)).status).toBe(401);
    expect(
      (await app.request('DELETE', `/v1/auth/sessions/${other.id}`, { token: laptop.accessToken })).status,
    ).toBe(404);
  });

  test("another person's session cannot be seen or revoked (404)", async () => {
    const stranger = await app.signUp();
    const list = await app.request('GET', '/v1/auth/sessions', { token: stranger.token });
    expect(list.body.items.map((item: { id: string }) => item.id)).not.toContain(
      (await app.request('GET', '/v1/auth/sessions', { token: laptop.accessToken })).body.items[0].id,
    );
    const laptopSessionId = (await app.request('GET', '/v1/auth/sessions', { token: laptop.accessToken }))
      .body.items[0].id;
    const attempt = await app.request('DELETE', `/v1/auth/sessions/${laptopSessionId}`, {
      token: stranger.token,
    });
    expect(attempt.status).toBe(404);
    expect((await refresh(laptop.refreshToken)).status).toBe(200);
  });

  test('logout ends the current session', async () => {
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: person.password },
    });
    expect((await app.request('POST', '/v1/auth/logout', { token: login.body.accessToken })).status).toBe(
      204,
    );
    expect((await refresh(login.body.refreshToken)).status).toBe(401);
    expect((await app.request('POST', '/v1/auth/logout')).status).toBe(401);
  });

  test('a token minted without a session cannot log out or switch tenant', async () => {
    const token = await app.tokens.sign({ userId: person.userId, tenantId: person.tenantId });
    expect((await app.request('POST', '/v1/auth/logout', { token })).status).toBe(401);
  });
});

describe('switching tenant', () => {
  test('moves the session to another tenant of the same person, and only to such a tenant', async () => {
    const alice = await app.signUp({ organizationName: 'Alice Home' });
    const bob = await app.signUp({ organizationName: 'Bob Corp' });
    const stranger = await app.signUp({ organizationName: 'Elsewhere' });
    await withTenant(app.database, bob.tenantId, (db) =>
      addMember(db, { tenantId: bob.tenantId, userId: alice.userId, role: 'viewer' }),
    );

    const refused = await app.request('POST', '/v1/auth/switch-tenant', {
      token: alice.token,
      body: { tenantId: stranger.tenantId },
    });
    expect(refused.status).toBe(403);

    const switched = await app.request('POST', '/v1/auth/switch-tenant', {
      token: alice.token,
      body: { tenantId: bob.tenantId },
    });
    expect(switched.status).toBe(200);
    expect(switched.body.tenant).toMatchObject({ id: bob.tenantId, name: 'Bob Corp' });
    const whoami = await me(switched.body.accessToken);
    expect(whoami.body.tenant.id).toBe(bob.tenantId);
    expect(whoami.body.roles).toEqual(['viewer']);

    const refreshed = await refresh(switched.body.refreshToken);
    expect((await me(refreshed.body.accessToken)).body.tenant.id).toBe(bob.tenantId);

    // The token issued for the first tenant named the session, which now works in Bob's tenant.
    const stale = await app.request('GET', '/v1/me', { token: alice.token });
    expect(stale.status).toBe(401);
    expect(stale.body.type).toBe('/problems/unauthorized');

    const malformed = await app.request('POST', '/v1/auth/switch-tenant', {
      token: switched.body.accessToken,
      body: { tenantId: 'nope' },
    });
    expect(malformed.status).toBe(422);
  });
});

describe("a token's session belongs to the token's tenant", () => {
  test('claims naming another tenant around a live session are refused, though the person is a member there', async () => {
    const alice = await app.signUp({ organizationName: 'Session Home' });
    const other = await app.signUp({ organizationName: 'Session Elsewhere' });
    await withTenant(app.database, other.tenantId, (db) =>
      addMember(db, { tenantId: other.tenantId, userId: alice.userId, role: 'owner' }),
    );
    const claims = await app.tokens.verify(alice.token);
    // Only the signing key can make such a token: defence in depth behind it.
    const forged = await app.tokens.sign({
      userId: alice.userId,
      tenantId: other.tenantId,
      sessionId: claims?.sessionId,
    });
    for (const [method, path] of [
      ['GET', '/v1/organizations'],
      ['GET', '/v1/me'],
      ['GET', '/v1/tenant'],
      ['GET', '/v1/auth/sessions'],
      ['POST', '/v1/auth/logout'],
    ] as const) {
      const response = await app.request(method, path, { token: forged });
      expect({ path, status: response.status, type: response.body.type }).toEqual({
        path,
        status: 401,
        type: '/problems/unauthorized',
      });
    }
    // The real token of that session still works, in its own tenant.
    expect((await me(alice.token)).body.tenant.id).toBe(alice.tenantId);
  });
});
