import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import {
  auditEntriesOf,
  joinWithRole,
  type SignedUp,
  startTestApp,
  type TestApp,
} from '../../testing/harness.ts';
import { fanOut } from './fanout.ts';
import { pruneWebhookMessages } from './retention.ts';
import { addressProblem, resolveTarget, TargetRefused } from './targets.ts';

// Endpoints as CRMs and the app manage them, with production's target policy: https only, no private
// addresses. Nothing is sent here (the runtime is not started); delivery is delivery.test.ts.
let app: TestApp;
let owner: SignedUp;
let other: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Hooks A' });
  other = await app.signUp({ organizationName: 'Hooks B' });
});

afterAll(() => app.dispose());

const create = (body: Record<string, unknown>, token = owner.token) =>
  app.request('POST', '/v1/webhooks/endpoints', { token, body });

describe('webhook endpoints', () => {
  test('a URL that could reach this machine, a private network or cloud metadata is refused at creation', async () => {
    const refused = [
      'https://127.0.0.1/hook',
      'https://10.1.2.3/hook',
      'https://192.168.0.10/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://[fd00:ec2::254]/',
      'https://[fe80::1]/',
      'https://224.0.0.1/',
      'https://0.0.0.0/',
      'https://2130706433/', // 127.0.0.1 written as one decimal number
      'https://0x7f.1/', // and in hex, short form
      'https://localhost/hook',
      'https://api.localhost/hook',
      'https://intranet/hook',
      'http://hooks.example.com/hook', // plain http is off in production
      'https://user:secret@hooks.example.com/hook',
      'https://hooks.example.com/hook#part',
      'ftp://hooks.example.com/hook',
    ];
    for (const url of refused) {
      const answer = await create({ url });
      expect({ url, status: answer.status, type: answer.body.type }).toEqual({
        url,
        status: 422,
        type: '/problems/validation-failed',
      });
      expect(answer.body.errors[0].path).toBe('/url');
    }
    const list = await app.request('GET', '/v1/webhooks/endpoints', { token: owner.token });
    expect(list.body.items).toEqual([]);
  });

  test('addresses are judged as what they carry, and names by every address they resolve to', async () => {
    const strict = { allowPrivate: false, allowHttp: false };
    expect(addressProblem('::ffff:10.0.0.1', strict)).toContain('private');
    expect(addressProblem('2002:7f00:1::', strict)).toContain('special-purpose'); // 6to4 around 127.0.0.1
    expect(addressProblem('64:ff9b::a00:1', strict)).toContain('special-purpose'); // NAT64 around 10.0.0.1
    expect(addressProblem('93.184.216.34', strict)).toBeNull();
    expect(addressProblem('2606:2800:220:1:248:1893:25c8:1946', strict)).toBeNull();
    const refusal = await resolveTarget(new URL('https://localhost:9/'), strict).catch((error) => error);
    expect(refusal).toBeInstanceOf(TargetRefused);
    expect((refusal as TargetRefused).errorClass).toBe('blocked-address');
    expect((refusal as TargetRefused).message).toContain('loopback');
    const unknown = await resolveTarget(new URL('https://no-such-host.invalid/'), strict).catch(
      (error) => error,
    );
    expect((unknown as TargetRefused).errorClass).toBe('dns');
    expect(
      await resolveTarget(new URL('http://localhost:9/'), { allowPrivate: true, allowHttp: true }),
    ).toMatch(/^(127\.0\.0\.1|::1)$/);
  });

  test('create, read, change and delete; the secret is shown once and never stored in the audit trail', async () => {
    const created = await create({
      url: 'https://crm.example.com/hooks',
      description: ' CRM ',
      eventTypes: ['organization.created', 'credits.consumed'],
      ordering: 'per-endpoint',
      rateLimit: 20,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      url: 'https://crm.example.com/hooks',
      description: 'CRM',
      eventTypes: ['organization.created', 'credits.consumed'],
      enabled: true,
      ordering: 'per-endpoint',
      rateLimit: 20,
      health: { attempts24h: 0, succeeded24h: 0, lastFailureAt: null, lastFailure: null },
    });
    const secret: string = created.body.secret;
    const read = await app.request('GET', `/v1/webhooks/endpoints/${created.body.id}`, {
      token: owner.token,
    });
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    const list = await app.request('GET', '/v1/webhooks/endpoints', { token: owner.token });
    expect(JSON.stringify(list.body)).not.toContain(secret);

    const changed = await app.request('PATCH', `/v1/webhooks/endpoints/${created.body.id}`, {
      token: owner.token,
      body: { enabled: false, eventTypes: null },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ enabled: false, disabledReason: 'manual', eventTypes: null });
    const enabled = await app.request('PATCH', `/v1/webhooks/endpoints/${created.body.id}`, {
      token: owner.token,
      body: { enabled: true },
    });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });

    const audit = await auditEntriesOf(app.database, owner.tenantId);
    expect(JSON.stringify(audit)).not.toContain(secret.slice(6));
    const made = audit.find((entry) => entry.action === 'webhook.endpoint_created');
    expect((made?.changes as Record<string, unknown> | undefined)?.secret).toEqual([
      '[redacted]',
      '[redacted]',
    ]);

    const removed = await app.request('DELETE', `/v1/webhooks/endpoints/${created.body.id}`, {
      token: owner.token,
    });
    expect(removed.status).toBe(204);
    const again = await app.request('DELETE', `/v1/webhooks/endpoints/${created.body.id}`, {
      token: owner.token,
    });
    expect(again.status).toBe(404);
  });

  test('bad input is a 422 naming the field, and changes nothing', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['POST', { url: 'not a url' }, '/url'],
      ['POST', { url: 'https://crm.example.com/', ordering: 'sometimes' }, '/ordering'],
      ['POST', { url: 'https://crm.example.com/', rateLimit: 0 }, '/rateLimit'],
      ['POST', { url: 'https://crm.example.com/', eventTypes: ['no.such_type'] }, '/eventTypes'],
      // The delivery log's own updates and a person's notifications are not for webhooks.
      [
        'POST',
        { url: 'https://crm.example.com/', eventTypes: ['webhook.deliveries_updated'] },
        '/eventTypes',
      ],
      ['POST', { url: 'https://crm.example.com/', secret: 'whsec_mine' }, '/secret'],
    ];
    for (const [method, body, path] of cases) {
      const answer = await app.request(method, '/v1/webhooks/endpoints', { token: owner.token, body });
      expect({ body, status: answer.status, path: answer.body.errors?.[0]?.path }).toEqual({
        body,
        status: 422,
        path,
      });
    }
    const made = await create({ url: 'https://crm.example.com/bad-input' });
    const empty = await app.request('PATCH', `/v1/webhooks/endpoints/${made.body.id}`, {
      token: owner.token,
      body: {},
    });
    expect(empty.status).toBe(422);
    const grace = await app.request(
      'POST',
      `/v1/webhooks/endpoints/${made.body.id}/rotate-secret?graceSeconds=-1`,
      {
        token: owner.token,
      },
    );
    expect(grace.status).toBe(422);
    const filter = await app.request('GET', '/v1/webhooks/deliveries?status=lost', { token: owner.token });
    expect(filter.status).toBe(422);
    const read = await app.request('GET', `/v1/webhooks/endpoints/${made.body.id}`, { token: owner.token });
    expect(read.body.url).toBe('https://crm.example.com/bad-input');
  });

  test('an endpoint carries only what its maker may read; without webhooks:manage nothing is reachable', async () => {
    const admin = await joinWithRole(app, owner.tenantId, 'admin');
    // Admins do not hold billing:manage: "every type" includes billing events, so they must choose.
    const all = await create({ url: 'https://crm.example.com/admin' }, admin.token);
    expect(all.status).toBe(422);
    expect(all.body.errors).toEqual([
      { path: '/eventTypes', message: 'Reading some of these events needs "billing:manage"' },
    ]);
    const billing = await create(
      { url: 'https://crm.example.com/admin', eventTypes: ['billing.invoice.paid'] },
      admin.token,
    );
    expect(billing.status).toBe(422);
    const allowed = await create(
      { url: 'https://crm.example.com/admin', eventTypes: ['organization.created', 'audit.recorded'] },
      admin.token,
    );
    expect(allowed.status).toBe(201);

    const member = await joinWithRole(app, owner.tenantId, 'member');
    for (const [method, path] of [
      ['GET', '/v1/webhooks/endpoints'],
      ['GET', `/v1/webhooks/endpoints/${allowed.body.id}`],
      ['POST', `/v1/webhooks/endpoints/${allowed.body.id}/test`],
      ['GET', '/v1/webhooks/deliveries'],
    ] as const) {
      const answer = await app.request(method, path, { token: member.token });
      expect({ path, status: answer.status }).toEqual({ path, status: 403 });
    }
    // A key with webhooks:manage alone may not make an endpoint for organization events (org:read).
    const key = await app.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'Hooks only', scopes: ['webhooks:manage'] },
    });
    const viaKey = await create(
      { url: 'https://crm.example.com/key', eventTypes: ['organization.created'] },
      key.body.secret,
    );
    expect(viaKey.status).toBe(422);
    expect(viaKey.body.errors[0].message).toContain('org:read');
    const tenantOnly = await create(
      { url: 'https://crm.example.com/key', eventTypes: ['tenant.updated'] },
      key.body.secret,
    );
    expect(tenantOnly.status).toBe(201);
  });

  test('another tenant sees none of the endpoints and deliveries; fan-out never crosses tenants', async () => {
    const mine = await create({ url: 'https://a.example.com/in', eventTypes: ['organization.created'] });
    const theirs = await create(
      { url: 'https://b.example.com/in', eventTypes: ['organization.created'] },
      other.token,
    );
    await app.request('POST', '/v1/organizations', { token: owner.token, body: { name: 'Only A' } });
    await app.request('POST', '/v1/organizations', { token: other.token, body: { name: 'Only B' } });
    await fanOut(app.database, owner.tenantId);
    await fanOut(app.database, other.tenantId);
    const listB = await app.request('GET', '/v1/webhooks/endpoints', { token: other.token });
    expect(listB.body.items.map((item: { id: string }) => item.id)).toEqual([theirs.body.id]);
    const deliveriesB = await app.request('GET', '/v1/webhooks/deliveries', { token: other.token });
    expect(deliveriesB.body.items.map((item: { endpointId: string }) => item.endpointId)).toEqual([
      theirs.body.id,
    ]);
    const deliveriesA = await app.request('GET', `/v1/webhooks/deliveries?endpointId=${mine.body.id}`, {
      token: owner.token,
    });
    expect(deliveriesA.body.items).toHaveLength(1);
    // B naming A's endpoint in the filter sees nothing (not an error: a filter, not a lookup).
    const peek = await app.request('GET', `/v1/webhooks/deliveries?endpointId=${mine.body.id}`, {
      token: other.token,
    });
    expect(peek.body.items).toEqual([]);
  });

  test('the delivery log is pruned with the events, but never a message still on its way', async () => {
    // A tenant of its own: a message is shared by every endpoint of its tenant that wants it.
    const pruned = await app.signUp({ organizationName: 'Pruned' });
    const endpoint = await create(
      { url: 'https://prune.example.com/in', eventTypes: ['organization.created'] },
      pruned.token,
    );
    await app.request('POST', '/v1/organizations', { token: pruned.token, body: { name: 'Old news' } });
    await app.request('POST', '/v1/organizations', { token: pruned.token, body: { name: 'Still going' } });
    await fanOut(app.database, pruned.tenantId);
    const rows = () =>
      selectRows<{ status: string }>(
        app.database.owner,
        sql`select d.status from webhook_deliveries d where d.endpoint_id = ${endpoint.body.id} order by d.event_seq`,
      );
    expect((await rows()).map((row) => row.status)).toEqual(['pending', 'pending']);
    // Both are old; the first is over (succeeded), the second still pending.
    await app.database.owner.execute(
      sql`update webhook_messages set created_at = now() - interval '40 days' where tenant_id = ${pruned.tenantId}`,
    );
    await app.database.owner.execute(
      sql`update webhook_deliveries set status = 'succeeded' where id = (
            select id from webhook_deliveries where endpoint_id = ${endpoint.body.id} order by event_seq limit 1)`,
    );
    expect(await pruneWebhookMessages({ database: app.database, retentionDays: 30 })).toBeGreaterThanOrEqual(
      1,
    );
    expect((await rows()).map((row) => row.status)).toEqual(['pending']);
  });
});
