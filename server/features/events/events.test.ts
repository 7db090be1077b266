import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import { memberships, roleAssignments } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import { eventTypes } from '../../../realtime/events.ts';
import { EventSchemaError, publish } from '../../../realtime/publish.ts';
import { type SignedUp, startTestApp, type TestApp, uniqueEmail } from '../../testing/harness.ts';
import { builtInRoles } from '../access/permissions.ts';

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Events Corp' });
});
afterAll(() => app.dispose());

interface Envelope {
  id: string;
  seq: number;
  type: string;
  version: number;
  tenantId: string;
  occurredAt: string;
  actor: { type: string; id?: string; userId?: string };
  data: Record<string, any>;
}

async function replay(
  token: string,
  query = '',
): Promise<{ items: Envelope[]; nextCursor: string | null; headSeq: number }> {
  const response = await app.request('GET', `/v1/events${query}`, { token });
  expect(response.status).toBe(200);
  return response.body;
}

async function allEvents(token: string, after = 0): Promise<Envelope[]> {
  return (await replay(token, `?after=${after}&limit=1000`)).items;
}

/**
 * Every change also records an audit entry, published as `audit.recorded` in the same log: the
 * domain's own events are the others. Seqs count both, with no gap.
 */
const domain = (items: Envelope[]) => items.filter((event) => event.type !== 'audit.recorded');
const contiguousFrom = (items: Envelope[], first: number) =>
  expect(items.map((event) => event.seq)).toEqual(items.map((_, index) => first + index));

const createOrg = (token: string, name: string, parentId?: string) =>
  app.request('POST', '/v1/organizations', {
    token,
    body: { name, parentId: parentId ?? owner.rootOrganizationId },
  });

describe('the event log', () => {
  test('a new tenant starts its log with the owner joining and the root organization', async () => {
    const fresh = await app.signUp({ organizationName: 'Fresh' });
    const all = await allEvents(fresh.token);
    contiguousFrom(all, 1);
    const items = domain(all);
    expect(items.map((event) => [event.seq, event.type])).toEqual([
      [1, 'membership.joined'],
      [2, 'organization.created'],
    ]);
    expect(items[0]?.data.member).toMatchObject({ userId: fresh.userId, email: fresh.email });
    expect(items[0]?.data.roleIds).toEqual([builtInRoles.owner.id]);
    expect(items[1]?.data.organization.id).toBe(fresh.rootOrganizationId);
    for (const event of items) {
      expect(event.tenantId).toBe(fresh.tenantId);
      expect(event.actor).toEqual({ type: 'user', id: fresh.userId });
      expect(event.version).toBe(1);
      expect(Date.parse(event.occurredAt)).not.toBeNaN();
    }
  });

  test('organization changes are published with the change; a rename to the same name is not a change', async () => {
    const before = (await replay(owner.token, '?limit=1')).headSeq;
    const created = await createOrg(owner.token, 'Sales');
    const other = await createOrg(owner.token, 'Regions');
    await app.request('PATCH', `/v1/organizations/${created.body.id}`, {
      token: owner.token,
      body: { name: 'Sales EMEA' },
    });
    await app.request('PATCH', `/v1/organizations/${created.body.id}`, {
      token: owner.token,
      body: { name: 'Sales EMEA' },
    });
    await app.request('PATCH', `/v1/organizations/${created.body.id}`, {
      token: owner.token,
      body: { parentId: other.body.id },
    });
    await app.request('DELETE', `/v1/organizations/${created.body.id}`, { token: owner.token });
    const all = await allEvents(owner.token, before);
    contiguousFrom(all, before + 1);
    const items = domain(all);
    expect(items.map((event) => event.type)).toEqual([
      'organization.created',
      'organization.created',
      'organization.updated',
      'organization.updated',
      'organization.deleted',
    ]);
    expect(items[2]?.data).toMatchObject({ changes: ['name'], organization: { name: 'Sales EMEA' } });
    expect(items[3]?.data).toMatchObject({
      changes: ['parentId'],
      organization: { parentId: other.body.id },
    });
    expect(items[4]?.data.organization).toEqual({
      id: created.body.id,
      name: 'Sales EMEA',
      parentId: other.body.id,
    });
  });

  test('a refused change publishes nothing and leaves no gap', async () => {
    const before = (await replay(owner.token, '?limit=1')).headSeq;
    const parent = await createOrg(owner.token, 'Parent');
    const child = await createOrg(owner.token, 'Child', parent.body.id);
    const cycle = await app.request('PATCH', `/v1/organizations/${parent.body.id}`, {
      token: owner.token,
      body: { parentId: child.body.id },
    });
    expect(cycle.status).toBe(422);
    const demoteSelf = await app.request('PATCH', `/v1/members/${owner.userId}`, {
      token: owner.token,
      body: { roleIds: [builtInRoles.viewer.id] },
    });
    expect(demoteSelf.status).toBe(409);
    const after = await createOrg(owner.token, 'After');
    const all = await allEvents(owner.token, before);
    contiguousFrom(all, before + 1);
    const items = domain(all);
    expect(items.map((event) => event.type)).toEqual(Array(3).fill('organization.created'));
    expect(items.at(-1)?.data.organization.id).toBe(after.body.id);
  });

  test('an event that does not match the catalog is refused and rolls the change back', async () => {
    const before = (await replay(owner.token, '?limit=1')).headSeq;
    await expect(
      withTenant(app.database, owner.tenantId, (db) =>
        publish(db, 'organization.deleted', {
          organization: { id: 'not-a-uuid', name: 'x', parentId: null },
        }),
      ),
    ).rejects.toBeInstanceOf(EventSchemaError);
    await expect(
      withTenant(app.database, owner.tenantId, (db) =>
        publish(db, 'no.such.type' as 'organization.deleted', {} as never),
      ),
    ).rejects.toBeInstanceOf(EventSchemaError);
    expect((await replay(owner.token, '?limit=1')).headSeq).toBe(before);
  });

  test('concurrent changes in one tenant get seq +1 each, with no gap and no duplicate', async () => {
    const tenant = await app.signUp({ organizationName: 'Busy' });
    const before = (await replay(tenant.token, '?limit=1')).headSeq;
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        createOrg(tenant.token, `Team ${index}`, tenant.rootOrganizationId),
      ),
    );
    expect(results.every((result) => result.status === 201)).toBe(true);
    const all = await allEvents(tenant.token, before);
    contiguousFrom(all, before + 1);
    const items = domain(all);
    expect(items).toHaveLength(40);
    expect(new Set(items.map((event) => event.data.organization.id)).size).toBe(40);
  });

  test('membership and tenant changes are published', async () => {
    const tenant = await app.signUp({ organizationName: 'People' });
    const before = (await replay(tenant.token, '?limit=1')).headSeq;
    const email = uniqueEmail('joiner');
    const invited = await app.request('POST', '/v1/invitations', {
      token: tenant.token,
      body: { email, roleIds: [builtInRoles.member.id] },
    });
    expect(invited.status).toBe(201);
    const mailbox = await app.request('GET', '/v1/dev/mailbox');
    const text: string = mailbox.body.items.find((item: { to: string }) => item.to === email).text;
    const token = /token=(inv_[A-Za-z0-9_-]+)/.exec(text)?.[1];
    const accepted = await app.request('POST', '/v1/invitations/accept', {
      body: { token, name: 'Joiner', password: 'correct horse battery' },
    });
    expect(accepted.status).toBe(200);
    const joinerId = (await app.tokens.verify(accepted.body.accessToken))?.userId;
    await app.request('PATCH', `/v1/members/${joinerId}`, {
      token: tenant.token,
      body: { roleIds: [builtInRoles.admin.id] },
    });
    await app.request('PATCH', `/v1/members/${joinerId}`, {
      token: tenant.token,
      body: { status: 'suspended' },
    });
    await app.request('PATCH', `/v1/members/${joinerId}`, {
      token: tenant.token,
      body: { status: 'suspended' },
    });
    await app.request('DELETE', `/v1/members/${joinerId}`, { token: tenant.token });
    const second = await app.request('POST', '/v1/invitations', {
      token: tenant.token,
      body: { email: uniqueEmail('withdrawn'), roleIds: [builtInRoles.viewer.id] },
    });
    await app.request('DELETE', `/v1/invitations/${second.body.id}`, { token: tenant.token });
    await app.request('PATCH', '/v1/tenant', {
      token: tenant.token,
      body: { name: 'People Inc', branding: { primaryColor: '#112233' } },
    });

    const items = domain(await allEvents(tenant.token, before));
    expect(items.map((event) => event.type)).toEqual([
      'membership.invited',
      'membership.joined',
      'membership.role_changed',
      'membership.status_changed',
      'membership.removed',
      'membership.invited',
      'membership.invitation_revoked',
      'tenant.updated',
    ]);
    expect(items[0]?.data.invitation).toMatchObject({ email, roleIds: [builtInRoles.member.id] });
    // The joiner caused their own join; the owner caused the rest.
    expect(items[1]?.actor).toEqual({ type: 'user', id: joinerId });
    expect(items[1]?.data).toMatchObject({
      member: { userId: joinerId, email },
      invitationId: invited.body.id,
    });
    expect(items[2]?.data).toEqual({ userId: joinerId, roleIds: [builtInRoles.admin.id] });
    expect(items[3]?.data).toEqual({ userId: joinerId, status: 'suspended' });
    expect(items[6]?.data).toEqual({ invitationId: second.body.id });
    expect(items[7]?.data).toMatchObject({
      tenant: { name: 'People Inc', branding: { primaryColor: '#112233' } },
      changes: ['name', 'branding.primaryColor'],
    });
  });
});

test('inviting an address again withdraws the pending invitation, and says so', async () => {
  const tenant = await app.signUp({ organizationName: 'Reinvite' });
  const before = (await replay(tenant.token, '?limit=1')).headSeq;
  const email = uniqueEmail('twice');
  const first = await app.request('POST', '/v1/invitations', {
    token: tenant.token,
    body: { email, roleIds: [builtInRoles.viewer.id] },
  });
  const second = await app.request('POST', '/v1/invitations', {
    token: tenant.token,
    body: { email, roleIds: [builtInRoles.member.id] },
  });
  const items = domain(await allEvents(tenant.token, before));
  expect(items.map((event) => [event.type, event.data.invitation?.id ?? event.data.invitationId])).toEqual([
    ['membership.invited', first.body.id],
    ['membership.invitation_revoked', first.body.id],
    ['membership.invited', second.body.id],
  ]);
});

describe('GET /v1/events', () => {
  test('pages in seq order with a cursor and reports the head', async () => {
    const tenant = await app.signUp({ organizationName: 'Pages' });
    for (const name of ['A', 'B', 'C']) await createOrg(tenant.token, name, tenant.rootOrganizationId);
    const head = (await allEvents(tenant.token)).length; // the sign-up's and three organizations', with their audit entries
    const first = await replay(tenant.token, '?limit=2');
    expect(first.items.map((event) => event.seq)).toEqual([1, 2]);
    expect(first.nextCursor).toBe('2');
    expect(first.headSeq).toBe(head);
    const second = await replay(tenant.token, `?limit=2&after=${first.nextCursor}`);
    expect(second.items.map((event) => event.seq)).toEqual([3, 4]);
    const last = await replay(tenant.token, `?limit=2&after=${head - 1}`);
    expect(last.items.map((event) => event.seq)).toEqual([head]);
    expect(last.nextCursor).toBeNull();
    expect((await replay(tenant.token, '?after=999999')).items).toEqual([]);
    const filtered = await replay(tenant.token, '?types=membership.joined');
    expect(filtered.items.map((event) => event.type)).toEqual(['membership.joined']);
  });

  test('cross-tenant: a tenant never sees another tenant’s events, whatever it asks for', async () => {
    const a = await app.signUp({ organizationName: 'Tenant A' });
    const b = await app.signUp({ organizationName: 'Tenant B' });
    await createOrg(a.token, 'Secret of A', a.rootOrganizationId);
    for (const query of ['', '?after=0', '?types=organization.created', '?after=0&limit=1000']) {
      const items = (await replay(b.token, query)).items;
      expect(items.every((event) => event.tenantId === b.tenantId)).toBe(true);
      expect(JSON.stringify(items)).not.toContain('Secret of A');
    }
    // Postgres itself refuses an event written into another tenant.
    await expect(
      withTenant(app.database, b.tenantId, (db) =>
        db.execute(
          sql`insert into events (tenant_id, seq, id, type, version, actor, data) values (${a.tenantId}, 999, ${crypto.randomUUID()}, 'organization.created', 1, '{}', '{}')`,
        ),
      ),
    ).rejects.toThrow();
    // And a request role can neither rewrite nor erase the log.
    await expect(
      withTenant(app.database, a.tenantId, (db) => db.execute(sql`update events set data = '{}'`)),
    ).rejects.toThrow();
    await expect(
      withTenant(app.database, a.tenantId, (db) => db.execute(sql`delete from events`)),
    ).rejects.toThrow();
    const [count] = await selectRows<{ n: number }>(
      app.database.owner,
      sql`select count(*)::int as n from events where tenant_id = ${a.tenantId} and type <> 'audit.recorded'`,
    );
    expect(Number(count?.n)).toBe(3);
  });

  test('only the event types the caller may read: by role, and by an API key’s scopes', async () => {
    const role = await app.request('POST', '/v1/roles', {
      token: owner.token,
      body: { name: `Org readers ${crypto.randomUUID().slice(0, 6)}`, permissions: ['org:read'] },
    });
    const person = await app.signUp({ organizationName: 'Reader home' });
    await withTenant(app.database, owner.tenantId, async (db) => {
      await db.insert(memberships).values({ tenantId: owner.tenantId, userId: person.userId });
      await db
        .insert(roleAssignments)
        .values({ tenantId: owner.tenantId, userId: person.userId, roleId: role.body.id });
    });
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: person.password, tenantId: owner.tenantId },
    });
    const readerToken = login.body.accessToken;
    const seen = (await replay(readerToken, '?limit=1000')).items;
    expect(seen.length).toBeGreaterThan(0);
    const seenKinds = new Set(seen.map((event) => event.type.split('.')[0]));
    expect(seenKinds.has('organization')).toBe(true);
    expect([...seenKinds].every((kind) => kind === 'organization' || kind === 'tenant')).toBe(true);
    const refused = await app.request('GET', '/v1/events?types=membership.joined', { token: readerToken });
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('/problems/forbidden');

    const key = await app.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'poller', scopes: ['members:read'] },
    });
    const byKey = (await replay(key.body.secret, '?limit=1000')).items;
    expect(byKey.length).toBeGreaterThan(0);
    const keyKinds = new Set(byKey.map((event) => event.type.split('.')[0]));
    expect(keyKinds.has('membership')).toBe(true);
    expect([...keyKinds].every((kind) => kind === 'membership' || kind === 'tenant')).toBe(true);
  });

  test('bad input gets a 422 problem naming the parameter', async () => {
    for (const [query, field] of [
      ['?after=-1', 'after'],
      ['?after=abc', 'after'],
      ['?limit=0', 'limit'],
      ['?limit=5000', 'limit'],
      ['?types=organization.created,made.up', 'types'],
    ] as const) {
      const response = await app.request('GET', `/v1/events${query}`, { token: owner.token });
      expect(response.status).toBe(422);
      expect(response.body.type).toBe('/problems/validation-failed');
      expect(JSON.stringify(response.body.errors)).toContain(field);
    }
    expect((await app.request('GET', '/v1/events')).status).toBe(401);
  });

  test('the catalog lists every type with its channel and the JSON Schema of its data', async () => {
    const response = await app.request('GET', '/v1/events/catalog');
    expect(response.status).toBe(200);
    expect(response.body.events.map((event: { type: string }) => event.type)).toEqual(eventTypes);
    const created = response.body.events.find(
      (event: { type: string }) => event.type === 'organization.created',
    );
    expect(created).toMatchObject({ version: 1, channel: 'organizations', data: { type: 'object' } });
    expect(response.body.channels).toContainEqual(
      expect.objectContaining({ name: 'audit', permission: 'audit:read' }),
    );
  });
});
