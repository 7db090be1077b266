import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import postgres from 'postgres';
import { eventually } from '../../testing/eventually.ts';
import { testConfig } from '../../testing/harness.ts';
import { type ServerProcess, startServerProcess } from '../../testing/server-process.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';

// Two real server processes sharing Postgres and Redis, one killed (SIGKILL) in the middle of a burst:
// every message still arrives, and no delivery is ever attempted by two nodes at once. Postgres + Redis
// only: the embedded database is one process per data folder.
const enabled = Boolean(testConfig.DATABASE_URL && testConfig.REDIS_URL);
const EVENTS = 200;

describe.skipIf(!enabled)('webhooks on two nodes', () => {
  const name = `wrapper_webhook_nodes_${crypto.randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const admin = enabled ? postgres(testConfig.DATABASE_URL as string, { max: 1, onnotice: () => {} }) : null;
  let database: postgres.Sql | null = null;
  const nodes: ServerProcess[] = [];
  let crm: WebhookReceiver;
  /** Requests of one webhook-id being answered right now, and whether two ever overlapped. */
  const answering = new Map<string, number>();
  let overlaps = 0;

  beforeAll(async () => {
    await admin?.unsafe(`create database ${name}`);
    const url = new URL(testConfig.DATABASE_URL as string);
    url.pathname = `/${name}`;
    database = postgres(url.toString(), { max: 2, onnotice: () => {} });
    crm = startWebhookReceiver({
      respond: async (_request, received) => {
        const now = answering.get(received.id) ?? 0;
        if (now > 0) overlaps += 1;
        answering.set(received.id, now + 1);
        await Bun.sleep(20);
        answering.set(received.id, (answering.get(received.id) ?? 1) - 1);
        return new Response(null, { status: 204 });
      },
    });
    const env = {
      DATABASE_URL: url.toString(),
      REDIS_URL: testConfig.REDIS_URL as string,
      JWT_SECRET: `webhook-nodes-secret-${crypto.randomUUID()}`,
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_TENANT_PER_MINUTE: '0',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_TIMEOUT_SECONDS: '1',
      WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2,0.2',
      WEBHOOK_CONCURRENCY: '4',
    };
    for (let index = 0; index < 2; index++) nodes.push(await startServerProcess(env));
  }, 90_000);

  afterAll(async () => {
    crm?.stop();
    for (const node of nodes) await node.stop().catch(() => {});
    await database?.end();
    await admin?.unsafe(`drop database if exists ${name} with (force)`);
    await admin?.end();
  });

  test(`${EVENTS} messages, one node killed mid-burst: all delivered, none by two nodes at once`, async () => {
    const [doomed, survivor] = nodes as [ServerProcess, ServerProcess];
    const signup = await fetch(`${survivor.baseUrl}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `webhook-nodes-${crypto.randomUUID().slice(0, 8)}@example.test`,
        password: 'correct horse battery',
        name: 'Node Tester',
        organizationName: 'Nodes',
      }),
    });
    const { accessToken } = (await signup.json()) as { accessToken: string };
    const call = (base: string, path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify(body),
      });
    const endpoint = await call(survivor.baseUrl, '/v1/webhooks/endpoints', {
      url: crm.url,
      eventTypes: ['organization.created'],
    });
    expect(endpoint.status).toBe(201);
    let killed = false;
    for (let index = 0; index < EVENTS; index += 4) {
      const made = await Promise.all(
        [0, 1, 2, 3].map((offset) =>
          call(survivor.baseUrl, '/v1/organizations', { name: `Burst ${index + offset}` }),
        ),
      );
      expect(made.map((response) => response.status)).toEqual([201, 201, 201, 201]);
      if (!killed && index >= EVENTS / 2) {
        doomed.process.kill('SIGKILL');
        killed = true;
      }
    }
    await eventually(
      () => (new Set(crm.received.map((entry) => entry.id)).size >= EVENTS ? true : undefined),
      `${EVENTS} distinct messages received`,
      60_000,
    );
    const ids = new Set(crm.received.map((entry) => entry.id));
    const published = await (database as postgres.Sql)`
      select id from events where type = 'organization.created' and seq > (
        select min(seq) from events where type = 'webhook.endpoint_created')`;
    expect(ids).toEqual(new Set(published.map((row) => row.id as string)));
    expect(overlaps).toBe(0);
    const byNode =
      await (database as postgres.Sql)`select node, count(*)::int as attempts from webhook_attempts group by node`;
    // Both nodes delivered: the work was shared before the kill and taken over after it.
    expect(byNode.length).toBe(2);
    const open = await eventually(
      async () => {
        const [row] = await (database as postgres.Sql)`
        select count(*) filter (where status <> 'succeeded')::int as open from webhook_deliveries`;
        return row?.open === 0 ? row : undefined;
      },
      'every delivery marked succeeded (the killed node’s leases taken over)',
      30_000,
    );
    expect(open.open).toBe(0);
  }, 180_000);
});
