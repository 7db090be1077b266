import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { io, type Socket } from 'socket.io-client';
import { withTenant } from '../db/tenant.ts';
import { grantPlatformAdmin } from '../server/features/admin/grant.ts';
import { recordAudit, systemWho } from '../server/features/audit/record.ts';
import {
  auditEntriesOf,
  joinWithRole,
  type SignedUp,
  signIn,
  startTestApp,
  type TestApp,
} from '../server/testing/harness.ts';
import { connectRealtime, type RealtimeEvent } from './client.ts';

// The live side of the audit trail: each tenant's `audit` channel, and `admin:audit`, where platform
// admins follow every tenant's entries and resume after a reconnect with no gap and no duplicate.

let app: TestApp;
let tenantA: SignedUp;
let tenantB: SignedUp;
let admin: SignedUp;
const sockets: Socket[] = [];
const clients: Array<{ close(): void }> = [];

beforeAll(async () => {
  app = await startTestApp({ realtime: {} });
  tenantA = await app.signUp({ organizationName: 'Tenant A' });
  tenantB = await app.signUp({ organizationName: 'Tenant B' });
  const person = await app.signUp({ organizationName: 'Platform' });
  expect(await grantPlatformAdmin(app.database, person.email)).toBe(true);
  admin = { ...person, ...(await signIn(app, person)) };
});
afterAll(async () => {
  for (const client of clients) client.close();
  for (const socket of sockets) socket.disconnect();
  await app.dispose();
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Records one entry in `tenant` (as a change would, in its own transaction); answers its id. */
async function record(tenant: SignedUp, label: string): Promise<string> {
  const { id } = await withTenant(app.database, tenant.tenantId, (db) =>
    recordAudit(db, tenant.tenantId, systemWho('test'), {
      action: 'organization.created',
      targets: [{ type: 'organization', id: crypto.randomUUID(), name: label }],
    }),
  );
  return id;
}

/** The reads of the audit log through a socket recorded in `tenantId`, oldest first. */
const socketReads = async (tenantId: string) =>
  (await auditEntriesOf(app.database, tenantId)).filter(
    (entry) =>
      entry.action === 'audit.read' && (entry.metadata as { channel?: string }).channel !== undefined,
  );

function rawSocket(token: string) {
  const socket = io(app.baseUrl ?? '', { transports: ['websocket'], auth: { token }, reconnection: false });
  sockets.push(socket);
  const received: RealtimeEvent[] = [];
  socket.on('event', (event: RealtimeEvent) => received.push(event));
  return { socket, received };
}

const subscribe = (socket: Socket, payload: unknown): Promise<Record<string, any>> =>
  new Promise((resolve) => socket.emit('subscribe', payload, resolve));

const connected = (socket: Socket) =>
  new Promise<void>((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });

/** The entries this file records (sign-ups, sign-ins and keys made along the way record theirs too). */
const ours = (events: RealtimeEvent[]) =>
  events.filter((event) => (event.data as { actor?: { id?: string } }).actor?.id === 'test');
const entryIds = (events: RealtimeEvent[]) => ours(events).map((event) => (event.data as { id: string }).id);

describe('the tenant audit channel', () => {
  test('carries each recorded entry, with its place in the chain, to members with audit:read', async () => {
    const { socket, received } = rawSocket(tenantA.token);
    await connected(socket);
    expect((await subscribe(socket, { channel: 'audit' })).ok).toBe(true);
    const id = await record(tenantA, 'Live one');
    await record(tenantB, 'Not for A');
    await waitFor(() => ours(received).length >= 1, 'the entry');
    await Bun.sleep(200);
    expect(ours(received).map((event) => [event.type, event.channel, event.tenantId])).toEqual([
      ['audit.recorded', 'audit', tenantA.tenantId],
    ]);
    const entry = ours(received)[0]?.data as Record<string, any>;
    expect(entry.id).toBe(id);
    expect(entry.targets).toEqual([{ type: 'organization', id: expect.any(String), name: 'Live one' }]);
    expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.seq).toBeGreaterThanOrEqual(1);
  });

  test('a member without audit:read is refused', async () => {
    const viewer = await joinWithRole(app, tenantA.tenantId, 'viewer');
    const { socket } = rawSocket(viewer.token);
    await connected(socket);
    const before = (await socketReads(tenantA.tenantId)).length;
    const answer = await subscribe(socket, { channel: 'audit' });
    expect(answer).toMatchObject({ ok: false, error: 'forbidden' });
    expect((await socketReads(tenantA.tenantId)).length).toBe(before);
  });

  test('following the channel is recorded as a read of the audit log, by a person or a key', async () => {
    const before = (await socketReads(tenantA.tenantId)).length;
    const person = rawSocket(tenantA.token);
    await connected(person.socket);
    expect((await subscribe(person.socket, { channel: 'audit', after: 2 })).ok).toBe(true);
    const key = await app.request('POST', '/v1/api-keys', {
      token: tenantA.token,
      body: { name: 'SIEM', scopes: ['audit:read'] },
    });
    const siem = rawSocket(key.body.secret);
    await connected(siem.socket);
    expect((await subscribe(siem.socket, { channel: 'audit' })).ok).toBe(true);
    const reads = (await socketReads(tenantA.tenantId)).slice(before);
    expect(reads).toEqual([
      expect.objectContaining({
        actorType: 'user',
        actorId: tenantA.userId,
        metadata: { channel: 'audit', after: '2' },
      }),
      expect.objectContaining({
        actorType: 'api_key',
        actorId: key.body.id,
        actorName: 'SIEM',
        metadata: { channel: 'audit' },
      }),
    ]);
    expect(await socketReads(tenantB.tenantId)).toEqual([]);
  });
});

describe('admin:audit', () => {
  test('only a platform admin, signed in, may join it', async () => {
    const owner = rawSocket(tenantA.token);
    await connected(owner.socket);
    expect(await subscribe(owner.socket, { channel: 'admin:audit' })).toMatchObject({
      ok: false,
      error: 'forbidden',
    });

    const key = await app.request('POST', '/v1/api-keys', {
      token: admin.token,
      body: { name: 'admin key', scopes: ['org:read'] },
    });
    expect(key.status).toBe(201);
    const keyed = rawSocket(key.body.secret);
    await connected(keyed.socket);
    expect(await subscribe(keyed.socket, { channel: 'admin:audit' })).toMatchObject({
      ok: false,
      error: 'forbidden',
    });

    const bad = rawSocket(admin.token);
    await connected(bad.socket);
    expect(await subscribe(bad.socket, { channel: 'admin:audit', after: -1 })).toMatchObject({
      ok: false,
      error: 'bad-request',
    });
  });

  test("a platform admin receives every tenant's entries live, in feed order", async () => {
    const { socket, received } = rawSocket(admin.token);
    await connected(socket);
    const answer = await subscribe(socket, { channel: 'admin:audit' });
    expect(answer).toMatchObject({ ok: true, channel: 'admin:audit', replayed: 0 });
    const ids: string[] = [];
    for (const [tenant, label] of [
      [tenantA, 'A1'],
      [tenantB, 'B1'],
      [tenantA, 'A2'],
    ] as const) {
      ids.push(await record(tenant, label));
      await waitFor(() => ours(received).length >= ids.length, `entry ${label}`);
    }
    expect(entryIds(received)).toEqual(ids);
    expect(new Set(ours(received).map((event) => event.tenantId))).toEqual(
      new Set([tenantA.tenantId, tenantB.tenantId]),
    );
    const positions = ours(received).map((event) => event.auditPosition ?? 0);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(positions[0]).toBeGreaterThan(answer.seq);
  });

  test("following it is recorded as a read of every tenant's audit log, in the admin's own tenant", async () => {
    const reads = async () =>
      (await auditEntriesOf(app.database, admin.tenantId)).filter(
        (entry) => entry.action === 'audit.read' && entry.actorType === 'platform_admin',
      );
    const before = (await reads()).length;
    const { socket } = rawSocket(admin.token);
    await connected(socket);
    expect((await subscribe(socket, { channel: 'admin:audit', after: 1 })).ok).toBe(true);
    const after = await reads();
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)).toMatchObject({
      actorId: admin.userId,
      actorName: 'Test Person',
      metadata: { scope: 'every tenant', channel: 'admin:audit', after: '1' },
    });
    // Nothing is recorded in the tenants followed.
    const tenantReads = (await socketReads(tenantA.tenantId)).filter(
      (entry) => entry.actorType === 'platform_admin',
    );
    expect(tenantReads).toEqual([]);
  });

  test('after a reconnect, the client resumes with no gap and no duplicate', async () => {
    const received: RealtimeEvent[] = [];
    const client = connectRealtime({ url: app.baseUrl ?? '', token: admin.token });
    clients.push(client);
    const answer = await client.subscribe('admin:audit', (event) => received.push(event));
    expect(answer.ok).toBe(true);
    const before = [await record(tenantA, 'before 1'), await record(tenantB, 'before 2')];
    await waitFor(() => ours(received).length >= 2, 'the live entries');

    client.socket.io.engine.close(); // the connection drops; the client reconnects by itself
    const missed: string[] = [];
    for (let index = 0; index < 20; index++) {
      missed.push(await record(index % 2 === 0 ? tenantA : tenantB, `while away ${index}`));
    }
    const after = [await record(tenantB, 'after')];
    await waitFor(() => ours(received).length >= 23, 'the missed entries', 15_000);
    await Bun.sleep(300);
    // Every entry once. The feed orders entries across tenants as the relay placed them (a tenant's
    // batch at a time), so two tenants' entries may interleave differently from when they were
    // recorded; within a tenant, the chain's order holds.
    expect(entryIds(received).length).toBe(23);
    expect(new Set(entryIds(received))).toEqual(new Set([...before, ...missed, ...after]));
    expect(entryIds(received).slice(0, 2)).toEqual(before);
    expect(entryIds(received).at(-1)).toBe(after[0]);
    const positions = received.map((event) => event.auditPosition ?? 0);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    for (const tenant of [tenantA, tenantB]) {
      const seqs = ours(received)
        .filter((event) => event.tenantId === tenant.tenantId)
        .map((event) => (event.data as { seq: number }).seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
  });

  test('a concurrent burst across tenants arrives once each, in position order', async () => {
    const { socket, received } = rawSocket(admin.token);
    await connected(socket);
    expect((await subscribe(socket, { channel: 'admin:audit' })).ok).toBe(true);
    const ids = await Promise.all(
      Array.from({ length: 60 }, (_, index) => record(index % 2 === 0 ? tenantA : tenantB, `burst ${index}`)),
    );
    await waitFor(() => ours(received).length >= 60, 'the burst', 15_000);
    await Bun.sleep(300);
    expect(new Set(entryIds(received))).toEqual(new Set(ids));
    expect(ours(received).length).toBe(60);
    const positions = ours(received).map((event) => event.auditPosition ?? 0);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));

    // Resuming from the middle replays exactly the rest, from Postgres.
    const middle = positions[29] ?? 0;
    const late = rawSocket(admin.token);
    await connected(late.socket);
    const replay = await subscribe(late.socket, { channel: 'admin:audit', after: middle });
    expect(replay).toMatchObject({ ok: true });
    expect(entryIds(late.received)).toEqual(entryIds(received).slice(30));
  });

  test('a resume from before the event retention is refused, never a silent gap', async () => {
    const { socket, received } = rawSocket(admin.token);
    await connected(socket);
    expect((await subscribe(socket, { channel: 'admin:audit' })).ok).toBe(true);
    const id = await record(tenantA, 'soon pruned');
    await waitFor(() => entryIds(received).includes(id), 'the entry');
    const event = ours(received).find((candidate) => (candidate.data as { id: string }).id === id);
    const position = event?.auditPosition ?? 0;
    // What prune_events does to an event past EVENTS_RETENTION_DAYS; the feed row stays.
    await app.database.owner.execute(
      sql`delete from events where tenant_id = ${tenantA.tenantId}::uuid and id = ${event?.id}::uuid`,
    );
    const late = rawSocket(admin.token);
    await connected(late.socket);
    expect(await subscribe(late.socket, { channel: 'admin:audit', after: position - 1 })).toMatchObject({
      ok: false,
      error: 'events-pruned',
      earliestPosition: position + 1,
    });
    expect(ours(late.received)).toEqual([]);
    // From the pruned entry on, the replay is whole again (following records reads, which come after).
    expect(await subscribe(late.socket, { channel: 'admin:audit', after: position })).toMatchObject({
      ok: true,
    });
    expect(entryIds(late.received)).toEqual([]);
  });
});
