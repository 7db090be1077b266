import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { creditBalances } from '../../../db/schema/index.ts';
import { withPlatformAdmin } from '../../../db/tenant.ts';
import { connectRealtime, type RealtimeEvent } from '../../../realtime/client.ts';
import {
  auditEntriesOf,
  type SignedUp,
  signIn,
  startTestApp,
  type TestApp,
  testConfig,
} from '../../testing/harness.ts';
import { grantPlatformAdmin } from './grant.ts';

// What the platform console reads: who is a platform admin (`GET /v1/me`), tenants searched and
// filtered with their balances, one tenant with its members, and the newest audit entries of every
// tenant with the feed position that `admin:audit` resumes after.

let app: TestApp;
let admin: SignedUp;
let acme: SignedUp;
let globex: SignedUp;
const marker = crypto.randomUUID().slice(0, 8);
const clients: Array<{ close(): void }> = [];
const engine = testConfig.DATABASE_URL ? 'Postgres + Redis' : 'PGlite';

beforeAll(async () => {
  app = await startTestApp({ realtime: {} });
  const person = await app.signUp({ organizationName: `Platform ${marker}`, name: 'Pat Admin' });
  expect(await grantPlatformAdmin(app.database, person.email)).toBe(true);
  // A session that started after the grant (the one from sign-up predates it; both work).
  admin = { ...person, ...(await signIn(app, person)) };
  acme = await app.signUp({ organizationName: `Acme ${marker} Rockets`, name: 'Ada Acme' });
  globex = await app.signUp({ organizationName: `Globex ${marker}`, name: 'Gil Globex' });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await app.dispose();
});

async function waitFor<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined) return value;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const get = (path: string, token = admin.token) => app.request('GET', path, { token });
const expectProblem = (response: { status: number; headers: Headers }, status: number) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toStartWith('application/problem+json');
};

describe(`the platform console's reads (${engine})`, () => {
  test('GET /v1/me says who is a platform admin (never through an API key)', async () => {
    expect((await get('/v1/me')).body.platformAdmin).toBe(true);
    expect((await get('/v1/me', acme.token)).body.platformAdmin).toBe(false);
    const key = await app.request('POST', '/v1/api-keys', {
      token: admin.token,
      body: { name: 'console', scopes: ['org:read'] },
    });
    expect(key.status).toBe(201);
    expect((await get('/v1/me', key.body.secret)).body.platformAdmin).toBe(false);
  });

  test('tenants: searched by name or slug (any case), filtered by status, with balance', async () => {
    const granted = await app.request('POST', `/v1/admin/tenants/${acme.tenantId}/credits`, {
      token: admin.token,
      body: { amount: 250, reason: 'welcome' },
    });
    expect(granted.body).toMatchObject({ balance: 250 });
    const found = await get(`/v1/admin/tenants?q=${encodeURIComponent(`ACME ${marker}`)}`);
    expect(found.status).toBe(200);
    expect(found.body.items).toEqual([
      expect.objectContaining({ id: acme.tenantId, balance: 250, memberCount: 1, status: 'active' }),
    ]);
    const bySlug = await get(`/v1/admin/tenants?q=${marker}`);
    expect(bySlug.body.items.map((tenant: { id: string }) => tenant.id).sort()).toEqual(
      [admin.tenantId, acme.tenantId, globex.tenantId].sort(),
    );
    // LIKE's wildcards stand for themselves.
    expect((await get(`/v1/admin/tenants?q=${encodeURIComponent('%')}`)).body.items).toEqual([]);

    await app.request('PATCH', `/v1/admin/tenants/${globex.tenantId}`, {
      token: admin.token,
      body: { status: 'suspended' },
    });
    const suspended = await get(`/v1/admin/tenants?q=${marker}&status=suspended`);
    expect(suspended.body.items.map((tenant: { id: string }) => tenant.id)).toEqual([globex.tenantId]);
    const active = await get(`/v1/admin/tenants?q=${marker}&status=active`);
    expect(active.body.items.map((tenant: { id: string }) => tenant.id)).not.toContain(globex.tenantId);
    await app.request('PATCH', `/v1/admin/tenants/${globex.tenantId}`, {
      token: admin.token,
      body: { status: 'active' },
    });
  });

  test('tenants: keyset pages keep the filters', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `q=${marker}&limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await get(`/v1/admin/tenants?${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.body.items.map((tenant: { id: string }) => tenant.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([admin.tenantId, acme.tenantId, globex.tenantId].sort());
  });

  test('one tenant with its members; unknown is 404', async () => {
    const detail = await get(`/v1/admin/tenants/${acme.tenantId}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id: acme.tenantId, balance: 250, memberCount: 1 });
    expect(detail.body.members).toEqual([
      expect.objectContaining({
        userId: acme.userId,
        name: 'Ada Acme',
        email: acme.email,
        status: 'active',
        roles: [expect.objectContaining({ key: 'owner', organizationId: null })],
      }),
    ]);
    // Only that tenant's people: not the admin, who is no member of it.
    expect(JSON.stringify(detail.body)).not.toContain(admin.email);
    expectProblem(await get(`/v1/admin/tenants/${Bun.randomUUIDv7()}`), 404);
    // As elsewhere, an id that cannot exist reads as one that does not.
    expectProblem(await get('/v1/admin/tenants/not-a-uuid'), 404);
  });

  test('audit logs: newest first across tenants, with positions, filters and pages', async () => {
    // The admin's credit adjustment in Acme (first test) and the suspension of Globex.
    const page = await waitFor(async () => {
      const answer = await get(`/v1/admin/audit-logs?limit=100`);
      const actions = answer.body.items.map((event: { data: { action: string } }) => event.data.action);
      // The relay gives entries their feed position a moment after they commit.
      return actions.includes('admin.credits_adjusted') && actions.includes('admin.tenant_updated')
        ? answer
        : undefined;
    }, 'the admin entries in the feed');
    expect(page.status).toBe(200);
    const positions = page.body.items.map((event: { auditPosition: number }) => event.auditPosition);
    expect(positions).toEqual([...positions].sort((x, y) => y - x));
    expect(page.body.head).toBe(positions[0]);
    expect(page.body.items[0]).toMatchObject({ type: 'audit.recorded' });
    const tenantsSeen = new Set(page.body.items.map((event: { tenantId: string }) => event.tenantId));
    expect(tenantsSeen.has(acme.tenantId) && tenantsSeen.has(globex.tenantId)).toBe(true);

    const acmeOnly = await get(`/v1/admin/audit-logs?tenantId=${acme.tenantId}`);
    expect(acmeOnly.body.items.length).toBeGreaterThan(0);
    expect(acmeOnly.body.items.every((event: { tenantId: string }) => event.tenantId === acme.tenantId)).toBe(
      true,
    );
    const adjusted = await get(`/v1/admin/audit-logs?action=admin.credits_adjusted&actorId=${admin.userId}`);
    expect(adjusted.body.items).toEqual([
      expect.objectContaining({
        tenantId: acme.tenantId,
        data: expect.objectContaining({
          action: 'admin.credits_adjusted',
          actor: expect.objectContaining({ type: 'platform_admin', id: admin.userId }),
        }),
      }),
    ]);

    // Pages from where the unpaged read started: reads record entries too (the next test).
    const all: number[] = [];
    let before: number | null = (acmeOnly.body.items[0]?.auditPosition ?? 0) + 1;
    do {
      const query: string = `tenantId=${acme.tenantId}&limit=2${before ? `&before=${before}` : ''}`;
      const next = await get(`/v1/admin/audit-logs?${query}`);
      all.push(...next.body.items.map((event: { auditPosition: number }) => event.auditPosition));
      before = next.body.nextCursor;
    } while (before);
    expect(all).toEqual(acmeOnly.body.items.map((event: { auditPosition: number }) => event.auditPosition));
  });

  test('each read is recorded: in the tenant it names, else in the admin’s own tenant', async () => {
    const readsIn = async (tenantId: string) =>
      (await auditEntriesOf(app.database, tenantId)).filter(
        (entry) => entry.action === 'audit.read' && entry.actorType === 'platform_admin',
      );
    const acmeBefore = (await readsIn(acme.tenantId)).length;
    const ownBefore = (await readsIn(admin.tenantId)).length;
    expect((await get(`/v1/admin/audit-logs?tenantId=${acme.tenantId}&limit=3`)).status).toBe(200);
    const acmeReads = await readsIn(acme.tenantId);
    expect(acmeReads.length).toBe(acmeBefore + 1);
    expect(acmeReads.at(-1)).toMatchObject({
      actorId: admin.userId,
      metadata: { scope: 'one tenant', filters: { tenantId: acme.tenantId }, limit: 3 },
    });
    expect((await get('/v1/admin/audit-logs?limit=2')).status).toBe(200);
    // A tenant that does not exist: nothing read of anyone, recorded where the admin is.
    const unknown = await get(`/v1/admin/audit-logs?tenantId=${crypto.randomUUID()}`);
    expect(unknown.status).toBe(200);
    expect(unknown.body.items).toEqual([]);
    const ownReads = await readsIn(admin.tenantId);
    expect(ownReads.length).toBe(ownBefore + 2);
    expect(ownReads.map((entry) => (entry.metadata as { scope: string }).scope)).toEqual([
      ...ownReads.slice(0, ownBefore).map((entry) => (entry.metadata as { scope: string }).scope),
      'every tenant',
      'every tenant',
    ]);
    expect((await readsIn(acme.tenantId)).length).toBe(acmeBefore + 1);
  });

  test('audit logs then admin:audit after `head`: every later entry once, none before', async () => {
    const loaded = await get('/v1/admin/audit-logs?limit=5');
    const received: RealtimeEvent[] = [];
    const live = connectRealtime({ url: app.baseUrl ?? '', token: admin.token });
    clients.push(live);
    const answer = await live.subscribe('admin:audit', (event) => received.push(event), {
      after: loaded.body.head,
    });
    expect(answer.ok).toBe(true);
    const created = await app.request('POST', '/v1/organizations', {
      token: globex.token,
      body: { name: `Live ${marker}` },
    });
    expect(created.status).toBe(201);
    const isNew = (item: RealtimeEvent) =>
      item.tenantId === globex.tenantId &&
      (item.data as { action?: string }).action === 'organization.created';
    const event = await waitFor(async () => received.find(isNew), 'the new entry on admin:audit');
    expect(received.every((item) => (item.auditPosition ?? 0) > loaded.body.head)).toBe(true);
    const ids = received.map((item) => item.id);
    expect(new Set(ids).size).toBe(ids.length);
    const listedBefore = new Set(loaded.body.items.map((item: { id: string }) => item.id));
    expect(ids.some((id) => listedBefore.has(id))).toBe(false);
    // The same entry is what the list answers now, at the same position.
    const listed = await get(`/v1/admin/audit-logs?tenantId=${globex.tenantId}&action=organization.created`);
    expect(listed.body.items[0]).toMatchObject({ id: event.id, auditPosition: event.auditPosition });
  });

  test('refused to everyone but platform admins, tenant owners included', async () => {
    for (const path of [
      '/v1/admin/audit-logs',
      `/v1/admin/tenants/${acme.tenantId}`,
      `/v1/admin/tenants/${globex.tenantId}`,
      '/v1/admin/tenants?q=acme',
    ]) {
      expectProblem(await get(path, acme.token), 403);
      expectProblem(await app.request('GET', path), 401);
    }
    const key = await app.request('POST', '/v1/api-keys', {
      token: admin.token,
      body: { name: 'not for admin', scopes: ['audit:read'] },
    });
    expectProblem(await get('/v1/admin/audit-logs', key.body.secret), 403);
  });

  test('bad filters are 422 naming the field', async () => {
    const tenantCases: Array<[string, string]> = [
      ['status=deleted', 'status'],
      [`q=${'x'.repeat(201)}`, 'q'],
      ['limit=0', 'limit'],
      ['cursor=nope', 'cursor'],
    ];
    for (const [query, field] of tenantCases) {
      const answer = await get(`/v1/admin/tenants?${query}`);
      expectProblem(answer, 422);
      expect(JSON.stringify(answer.body.errors)).toContain(field);
    }
    const auditCases: Array<[string, string]> = [
      ['action=no.such_action', 'action'],
      ['tenantId=acme', 'tenantId'],
      ['actorId=', 'actorId'],
      ['before=0', 'before'],
      ['before=x', 'before'],
      ['limit=101', 'limit'],
    ];
    for (const [query, field] of auditCases) {
      const answer = await get(`/v1/admin/audit-logs?${query}`);
      expectProblem(answer, 422);
      expect(JSON.stringify(answer.body.errors)).toContain(field);
    }
  });
});

describe('the admin role and balances', () => {
  test('a platform admin reads every tenant’s balance without acting in it; anyone else reads none', async () => {
    const asAdmin = await withPlatformAdmin(app.database, admin.userId, (db) =>
      db.select().from(creditBalances).where(eq(creditBalances.tenantId, acme.tenantId)),
    );
    expect(asAdmin.map((row) => Number(row.balance))).toEqual([250]);
    const asOwner = await withPlatformAdmin(app.database, acme.userId, (db) =>
      db.select().from(creditBalances),
    );
    expect(asOwner).toEqual([]);
    // Reading across tenants does not extend to writing outside the tenant the transaction acts in.
    const written = await withPlatformAdmin(app.database, admin.userId, (db) =>
      db
        .update(creditBalances)
        .set({ lowBalanceThreshold: 1 })
        .where(eq(creditBalances.tenantId, acme.tenantId))
        .returning(),
    );
    expect(written).toEqual([]);
  });
});
