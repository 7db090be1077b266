import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { io, type Socket } from 'socket.io-client';
import { memberships, roleAssignments } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { builtInRoles } from '../server/features/access/permissions.ts';
import { createAccessTokens } from '../server/features/auth/access-tokens.ts';
import { type SignedUp, startTestApp, TEST_SECRET, type TestApp } from '../server/testing/harness.ts';
import { connectRealtime, type RealtimeEvent } from './client.ts';

let app: TestApp;
let baseUrl: string;

beforeAll(async () => {
  app = await startTestApp({ realtime: { reauthGraceMs: 400 } });
  baseUrl = app.baseUrl ?? '';
});
afterAll(() => app.dispose());

const sockets: Socket[] = [];
afterAll(() => {
  for (const socket of sockets) socket.disconnect();
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A raw Socket.IO client (WebSocket transport) that records what it receives. */
function rawSocket(token: unknown) {
  const socket = io(baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false });
  sockets.push(socket);
  const received: Array<RealtimeEvent & { data: Record<string, any> }> = [];
  const notices: Array<[string, unknown]> = [];
  socket.on('event', (event: RealtimeEvent & { data: Record<string, any> }) => received.push(event));
  for (const name of ['revoked', 'unsubscribed', 'reauth_required']) {
    socket.on(name, (payload: unknown) => notices.push([name, payload]));
  }
  return { socket, received, notices };
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(error));
  });
}

function connectError(socket: Socket): Promise<Error & { data?: { code: string; detail: string } }> {
  return new Promise((resolve) => socket.once('connect_error', (error) => resolve(error as never)));
}

function subscribe(socket: Socket, payload: unknown): Promise<Record<string, any>> {
  return new Promise((resolve) => socket.emit('subscribe', payload, resolve));
}

const createOrg = (tenant: SignedUp, name: string) =>
  app.request('POST', '/v1/organizations', {
    token: tenant.token,
    body: { name, parentId: tenant.rootOrganizationId },
  });

async function memberWith(owner: SignedUp, roleId: string) {
  const person = await app.signUp({ organizationName: 'Elsewhere' });
  await withTenant(app.database, owner.tenantId, async (db) => {
    await db.insert(memberships).values({ tenantId: owner.tenantId, userId: person.userId });
    await db.insert(roleAssignments).values({ tenantId: owner.tenantId, userId: person.userId, roleId });
  });
  const login = await app.request('POST', '/v1/auth/login', {
    body: { email: person.email, password: person.password, tenantId: owner.tenantId },
  });
  return { ...person, token: login.body.accessToken as string };
}

describe('the handshake', () => {
  test('a missing, malformed or forged token gets connect_error with a reason', async () => {
    for (const token of [undefined, '', 'not-a-jwt', 'wr_not-a-real-key', 42]) {
      const { socket } = rawSocket(token);
      const error = await connectError(socket);
      expect(error.data?.code).toBe('unauthorized');
      expect(error.data?.detail.length).toBeGreaterThan(5);
    }
    const forged = await createAccessTokens({ secret: `${TEST_SECRET}-other`, ttlSeconds: 60 }).sign({
      userId: crypto.randomUUID(),
      tenantId: crypto.randomUUID(),
    });
    const error = await connectError(rawSocket(forged).socket);
    expect(error.data).toEqual({
      code: 'unauthorized',
      detail: 'The access token is invalid or has expired.',
    });
  });

  test('a token of a suspended member, or of a logged-out session, is refused', async () => {
    const owner = await app.signUp();
    const member = await memberWith(owner, builtInRoles.viewer.id);
    await app.request('PATCH', `/v1/members/${member.userId}`, {
      token: owner.token,
      body: { status: 'suspended' },
    });
    expect((await connectError(rawSocket(member.token).socket)).data?.code).toBe('unauthorized');
    const other = await app.signUp();
    await app.request('POST', '/v1/auth/logout', { token: other.token });
    expect((await connectError(rawSocket(other.token).socket)).data?.detail).toContain('ended');
  });

  test('an access token and an API key both connect', async () => {
    const owner = await app.signUp();
    const key = await app.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'dashboard', scopes: ['org:read'] },
    });
    for (const token of [owner.token, key.body.secret]) {
      const { socket } = rawSocket(token);
      await connected(socket);
      socket.disconnect();
    }
  });
});

describe('channels', () => {
  test('a subscriber receives its tenant’s events live, with the channel, in seq order', async () => {
    const owner = await app.signUp();
    const { socket, received } = rawSocket(owner.token);
    await connected(socket);
    const answer = await subscribe(socket, { channel: 'organizations' });
    expect(answer).toMatchObject({ ok: true, channel: 'organizations', replayed: 0 });
    for (const name of ['One', 'Two', 'Three']) await createOrg(owner, name);
    await waitFor(() => received.length === 3, 10_000, 'three events');
    expect(received.map((event) => event.data.organization.name)).toEqual(['One', 'Two', 'Three']);
    expect(
      received.every((event) => event.channel === 'organizations' && event.tenantId === owner.tenantId),
    ).toBe(true);
    expect(received.map((event) => event.seq)).toEqual(
      [...received.map((event) => event.seq)].sort((a, b) => a - b),
    );
  });

  test('bad subscriptions get a clear ack: unknown or crafted channels, bad after, missing permission', async () => {
    const owner = await app.signUp();
    const viewer = await memberWith(owner, builtInRoles.viewer.id);
    const { socket } = rawSocket(viewer.token);
    await connected(socket);
    for (const [payload, error] of [
      [{ channel: 'nope' }, 'unknown-channel'],
      [{ channel: `t:${owner.tenantId}:organizations` }, 'unknown-channel'],
      [{ channel: '__proto__' }, 'unknown-channel'],
      ['organizations', 'bad-request'],
      [{ channel: 'organizations', after: -1 }, 'bad-request'],
      [{ channel: 'organizations', after: 1.5 }, 'bad-request'],
      [{ channel: 'organizations', after: '3' }, 'bad-request'],
      [{ channel: 'audit' }, 'forbidden'],
    ] as const) {
      const answer = await subscribe(socket, payload);
      expect({ payload, answer: { ok: answer.ok, error: answer.error } }).toEqual({
        payload,
        answer: { ok: false, error },
      });
    }
    // A huge `after` is just the future: nothing to replay.
    expect(await subscribe(socket, { channel: 'organizations', after: 2 ** 50 })).toMatchObject({
      ok: true,
      replayed: 0,
    });
  });

  test('isolation: a socket of tenant B never receives tenant A’s events, whatever it subscribes with', async () => {
    const a = await app.signUp();
    const b = await app.signUp();
    const spy = rawSocket(b.token);
    await connected(spy.socket);
    for (const channel of ['organizations', 'membership', 'tenant']) {
      expect((await subscribe(spy.socket, { channel, after: 0 })).ok).toBe(true);
    }
    const watcher = rawSocket(a.token);
    await connected(watcher.socket);
    await subscribe(watcher.socket, { channel: 'organizations' });
    await createOrg(a, 'Secret plans of A');
    await app.request('PATCH', '/v1/tenant', { token: a.token, body: { name: 'A renamed' } });
    await waitFor(() => watcher.received.length >= 1);
    await createOrg(b, 'B marker');
    await waitFor(() => spy.received.some((event) => event.data.organization?.name === 'B marker'));
    expect(spy.received.every((event) => event.tenantId === b.tenantId)).toBe(true);
    expect(JSON.stringify(spy.received)).not.toContain('Secret plans of A');
  });

  test('subscribe with after replays what was missed, then live events follow with no gap or duplicate', async () => {
    const owner = await app.signUp();
    for (let index = 0; index < 20; index++) await createOrg(owner, `Before ${index}`);
    const { socket, received } = rawSocket(owner.token);
    await connected(socket);
    // Events keep coming while the subscription replays.
    const writer = (async () => {
      for (let index = 0; index < 20; index++) await createOrg(owner, `During ${index}`);
    })();
    const answer = await subscribe(socket, { channel: 'organizations', after: 5 });
    expect(answer.ok).toBe(true);
    await writer;
    for (let index = 0; index < 5; index++) await createOrg(owner, `After ${index}`);
    // The channel's events in the log after seq 5 (the tenant's seqs also number other channels'
    // events, e.g. each change's audit.recorded): exactly those, in order, once each.
    const logged = await app.request(
      'GET',
      '/v1/events?after=5&limit=500&types=organization.created,organization.updated,organization.deleted',
      { token: owner.token },
    );
    const expected = (logged.body.items as Array<{ seq: number }>).map((event) => event.seq);
    expect(expected.length).toBeGreaterThanOrEqual(25);
    await waitFor(() => received.at(-1)?.seq === expected.at(-1), 10_000, 'the last event');
    expect(received.map((event) => event.seq)).toEqual(expected);
  });

  test('a removed member’s socket stops receiving at the next event, and is told why', async () => {
    const owner = await app.signUp();
    const member = await memberWith(owner, builtInRoles.viewer.id);
    const { socket, received, notices } = rawSocket(member.token);
    await connected(socket);
    await subscribe(socket, { channel: 'organizations' });
    await createOrg(owner, 'Seen');
    await waitFor(() => received.length === 1);
    expect((await app.request('DELETE', `/v1/members/${member.userId}`, { token: owner.token })).status).toBe(
      204,
    );
    await createOrg(owner, 'Not for them');
    // Wait until a fresh observer has the second event, then check the removed member did not.
    const observer = rawSocket(owner.token);
    await connected(observer.socket);
    await subscribe(observer.socket, { channel: 'organizations', after: 0 });
    await waitFor(() => observer.received.some((event) => event.data.organization?.name === 'Not for them'));
    await waitFor(() => notices.some(([name]) => name === 'revoked'), 5_000, 'the revoked notice');
    expect(received.map((event) => event.data.organization?.name)).toEqual(['Seen']);
    await waitFor(() => !socket.connected, 5_000, 'the disconnect');
  });

  test('losing a permission takes the socket out of that channel only; it keeps the others', async () => {
    const owner = await app.signUp();
    const role = await app.request('POST', '/v1/roles', {
      token: owner.token,
      body: { name: 'Readers', permissions: ['org:read', 'members:read'] },
    });
    const member = await memberWith(owner, role.body.id);
    const { socket, received, notices } = rawSocket(member.token);
    await connected(socket);
    expect((await subscribe(socket, { channel: 'organizations' })).ok).toBe(true);
    expect((await subscribe(socket, { channel: 'membership' })).ok).toBe(true);
    const narrower = await app.request('POST', '/v1/roles', {
      token: owner.token,
      body: { name: 'Org only', permissions: ['org:read'] },
    });
    await app.request('PATCH', `/v1/members/${member.userId}`, {
      token: owner.token,
      body: { roleIds: [narrower.body.id] },
    });
    await waitFor(() => notices.some(([name]) => name === 'unsubscribed'), 5_000, 'the unsubscribed notice');
    expect(notices.find(([name]) => name === 'unsubscribed')?.[1]).toEqual({
      channel: 'membership',
      reason: 'forbidden',
    });
    await app.request('POST', '/v1/invitations', {
      token: owner.token,
      body: {
        email: `later-${crypto.randomUUID().slice(0, 6)}@example.test`,
        roleIds: [builtInRoles.viewer.id],
      },
    });
    await createOrg(owner, 'Still visible');
    await waitFor(() => received.some((event) => event.data.organization?.name === 'Still visible'));
    expect(received.some((event) => event.type === 'membership.invited')).toBe(false);
  });

  test('an expiring token asks for reauth; a fresh one keeps the socket, none closes it', async () => {
    const owner = await app.signUp();
    // Two seconds: expiry is stamped in whole seconds, so one second could lapse before the handshake.
    const shortLived = createAccessTokens({ secret: TEST_SECRET, ttlSeconds: 2 });
    const claims = (await app.tokens.verify(owner.token)) ?? { userId: '', tenantId: '' };
    const { sessionId, userId, tenantId } = claims;

    const renewing = rawSocket(await shortLived.sign({ userId, tenantId, sessionId }));
    renewing.socket.on('reauth_required', async () => {
      const fresh = await app.tokens.sign({ userId, tenantId, sessionId });
      renewing.socket.emit('reauth', { token: fresh }, () => {});
    });
    const lapsing = rawSocket(await shortLived.sign({ userId, tenantId, sessionId }));
    await Promise.all([connected(renewing.socket), connected(lapsing.socket)]);
    await waitFor(
      () => lapsing.notices.some(([name]) => name === 'revoked'),
      8_000,
      'the lapsed socket closed',
    );
    await waitFor(() => !lapsing.socket.connected, 5_000);
    expect(renewing.socket.connected).toBe(true);

    // A token for someone else is not a renewal.
    const stranger = await app.signUp();
    const answer = await new Promise<Record<string, unknown>>((resolve) =>
      renewing.socket.emit('reauth', { token: stranger.token }, resolve),
    );
    expect(answer).toMatchObject({ ok: false, error: 'forbidden' });
  });
});

describe('access changes reach sockets at once', () => {
  test('logout, an API key revoked, a custom role edited: no waiting for the periodic check', async () => {
    const owner = await app.signUp();
    const role = await app.request('POST', '/v1/roles', {
      token: owner.token,
      body: { name: 'Watchers', permissions: ['org:read', 'members:read'] },
    });
    const member = await memberWith(owner, role.body.id);
    const key = await app.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'board', scopes: ['org:read'] },
    });
    const loggedOut = rawSocket(member.token);
    const byKey = rawSocket(key.body.secret);
    const colleague = await memberWith(owner, role.body.id);
    const watcher = rawSocket(colleague.token);
    await Promise.all([loggedOut, byKey, watcher].map(({ socket }) => connected(socket)));
    expect((await subscribe(watcher.socket, { channel: 'membership' })).ok).toBe(true);
    const started = Date.now();
    expect((await app.request('POST', '/v1/auth/logout', { token: member.token })).status).toBe(204);
    expect((await app.request('DELETE', `/v1/api-keys/${key.body.id}`, { token: owner.token })).status).toBe(
      204,
    );
    await app.request('PATCH', `/v1/roles/${role.body.id}`, {
      token: owner.token,
      body: { permissions: ['org:read'] },
    });
    await waitFor(() => !loggedOut.socket.connected && !byKey.socket.connected, 5_000, 'both sockets closed');
    await waitFor(
      () => watcher.notices.some(([name]) => name === 'unsubscribed'),
      5_000,
      'the watcher taken out of membership',
    );
    // Well before the minute of the periodic check.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(watcher.socket.connected).toBe(true);
  });
});

describe('the client library', () => {
  test('1,000 events across reconnects arrive exactly once, in seq order', async () => {
    const owner = await app.signUp();
    const got: RealtimeEvent[] = [];
    const client = connectRealtime({ url: baseUrl, token: owner.token });
    const answer = await client.subscribe('organizations', (event) => got.push(event));
    expect(answer.ok).toBe(true);
    const writer = (async () => {
      for (let index = 0; index < 1000; index++) {
        const response = await createOrg(owner, `Org ${index}`);
        expect(response.status).toBe(201);
      }
    })();
    // Drop the connection a few times while events flow.
    for (let drop = 0; drop < 4; drop++) {
      await Bun.sleep(400);
      client.socket.io.engine.close();
    }
    await writer;
    await waitFor(() => got.length >= 1000, 30_000, '1,000 events');
    await Bun.sleep(300);
    const seqs = got.map((event) => event.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(got).toHaveLength(1000);
    client.close();
  }, 120_000);
});

describe('periodic re-checks', () => {
  let quick: TestApp;
  beforeAll(async () => {
    quick = await startTestApp({ realtime: { revalidateMs: 300 } });
  });
  afterAll(() => quick.dispose());

  test('a socket whose session ended (logout) or whose API key was revoked is closed at the next check', async () => {
    const owner = await quick.signUp();
    const key = await quick.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'wallboard', scopes: ['org:read'] },
    });
    const sockets = [owner.token, key.body.secret].map((token) => {
      const socket = io(quick.baseUrl ?? '', {
        transports: ['websocket'],
        auth: { token },
        reconnection: false,
      });
      const notices: unknown[] = [];
      socket.on('revoked', (notice: unknown) => notices.push(notice));
      return { socket, notices };
    });
    await Promise.all(sockets.map(({ socket }) => connected(socket)));
    expect((await quick.request('POST', '/v1/auth/logout', { token: owner.token })).status).toBe(204);
    // The key's creator still has their own session elsewhere; the key itself is revoked.
    const login = await quick.request('POST', '/v1/auth/login', {
      body: { email: owner.email, password: owner.password },
    });
    expect(
      (await quick.request('DELETE', `/v1/api-keys/${key.body.id}`, { token: login.body.accessToken }))
        .status,
    ).toBe(204);
    for (const { socket, notices } of sockets) {
      await waitFor(() => !socket.connected, 5_000, 'the socket closed');
      expect(notices).toHaveLength(1);
    }
  });
});
