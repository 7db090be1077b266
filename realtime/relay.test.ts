import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { withTenant } from '../db/tenant.ts';
import { type SignedUp, startTestApp, type TestApp, testConfig } from '../server/testing/harness.ts';
import { freePort } from '../server/testing/server-process.ts';
import { type EventBus, memoryEventBus, redisEventBus } from './bus.ts';
import type { EventEnvelope } from './events.ts';
import { publish } from './publish.ts';
import { createRelay, type Relay } from './relay.ts';

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Relay Corp' });
});
afterAll(() => app.dispose());

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const createOrgs = async (tenant: SignedUp, count: number, prefix = 'Team') => {
  for (let index = 0; index < count; index++) {
    const response = await app.request('POST', '/v1/organizations', {
      token: tenant.token,
      body: { name: `${prefix} ${index}`, parentId: tenant.rootOrganizationId },
    });
    expect(response.status).toBe(201);
  }
};

const headSeq = async (tenant: SignedUp) =>
  (await app.request('GET', '/v1/events?limit=1', { token: tenant.token })).body.headSeq as number;

/** What a consumer keeps: each tenant's events once, by seq. */
function deduplicated(received: EventEnvelope[], tenantId: string): number[] {
  return [...new Set(received.filter((event) => event.tenantId === tenantId).map((event) => event.seq))];
}

function isOrdered(received: EventEnvelope[], tenantId: string): boolean {
  let last = 0;
  for (const event of received) {
    if (event.tenantId !== tenantId) continue;
    if (event.seq <= last) return false;
    last = event.seq;
  }
  return true;
}

function busesUnderTest(): Array<[string, () => Promise<{ bus: EventBus; close(): Promise<void> }>]> {
  const buses: Array<[string, () => Promise<{ bus: EventBus; close(): Promise<void> }>]> = [
    ['in-process', async () => ({ bus: memoryEventBus(), close: async () => {} })],
  ];
  if (testConfig.REDIS_URL) {
    buses.push([
      'redis',
      async () => {
        const redis = new Redis(testConfig.REDIS_URL as string);
        const bus = redisEventBus(redis, { stream: `wr:test:${crypto.randomUUID()}`, blockMs: 200 });
        return {
          bus,
          async close() {
            await bus.close();
            redis.disconnect();
          },
        };
      },
    ]);
  }
  return buses;
}

for (const [name, makeBus] of busesUnderTest()) {
  describe(`relay to the ${name} bus`, () => {
    let bus: EventBus;
    let closeBus: () => Promise<void>;
    let relay: Relay;
    const received: EventEnvelope[] = [];

    beforeAll(async () => {
      ({ bus, close: closeBus } = await makeBus());
      bus.subscribe((event) => received.push(event));
      await bus.subscribed();
      relay = createRelay({ database: app.database, bus, pollMs: 200 });
      await relay.start();
    });
    afterAll(async () => {
      await relay.stop();
      await closeBus();
    });

    test('committed events reach subscribers in seq order, each tenant its own sequence', async () => {
      // Tenants the relay has never moved (positions are kept per database, not per bus).
      const one = await app.signUp({ organizationName: `One ${name}` });
      const other = await app.signUp({ organizationName: `Other ${name}` });
      await Promise.all([createOrgs(one, 15, 'Own'), createOrgs(other, 15, 'Other')]);
      for (const tenant of [one, other]) {
        const head = await headSeq(tenant);
        await waitFor(() => deduplicated(received, tenant.tenantId).includes(head), 10_000, `seq ${head}`);
        expect(isOrdered(received, tenant.tenantId)).toBe(true);
        // Nothing before the relay started is skipped either: the whole log, 1..head.
        expect(deduplicated(received, tenant.tenantId)).toEqual(
          Array.from({ length: head }, (_, index) => index + 1),
        );
      }
      // The position moves just after the bus took the events: the lag reaches 0 a moment later.
      let lag = -1;
      await waitFor(
        async () => {
          lag = (await relay.lag()).events;
          return lag === 0;
        },
        5_000,
        'no lag',
      );
      expect(lag).toBe(0);
    });

    test('a rolled-back change never reaches the bus', async () => {
      const before = await headSeq(owner);
      const refused = await app.request('PATCH', `/v1/members/${owner.userId}`, {
        token: owner.token,
        body: { status: 'suspended' },
      });
      expect(refused.status).toBe(409);
      await createOrgs(owner, 1, 'After refusal');
      // The organization's event and its audit entry's; nothing of the refused change.
      await waitFor(() => deduplicated(received, owner.tenantId).includes(before + 2));
      const after = received.filter((event) => event.tenantId === owner.tenantId && event.seq > before);
      expect(after.map((event) => event.type).sort()).toEqual(['audit.recorded', 'organization.created']);
    });
  });
}

describe('relay faults', () => {
  test('a relay killed mid-batch loses nothing; the resent duplicates are dropped by seq', async () => {
    const tenant = await app.signUp({ organizationName: 'Crashy' });
    await createOrgs(tenant, 10);
    const inner = memoryEventBus();
    const received: EventEnvelope[] = [];
    inner.subscribe((event) => received.push(event));
    let failNext = true;
    // The first batch reaches the bus halfway, then the relay dies before recording its position.
    const crashing: EventBus = {
      ...inner,
      async append(events) {
        if (failNext) {
          failNext = false;
          await inner.append(events.slice(0, Math.ceil(events.length / 2)));
          throw new Error('relay process killed');
        }
        await inner.append(events);
      },
    };
    const errors: unknown[] = [];
    const first = createRelay({
      database: app.database,
      bus: crashing,
      onError: (error) => errors.push(error),
    });
    await first.drain();
    expect(errors).toHaveLength(1);
    await first.stop();
    // A new relay (a restarted process) picks up from the recorded position.
    const second = createRelay({ database: app.database, bus: crashing });
    await second.drain();
    const head = await headSeq(tenant);
    expect(deduplicated(received, tenant.tenantId)).toEqual(
      Array.from({ length: head }, (_, index) => index + 1),
    );
    const mine = received.filter((event) => event.tenantId === tenant.tenantId);
    expect(mine.length).toBeGreaterThan(head);
  });

  test('two relays at once never interleave a tenant: every event once, in order', async () => {
    const tenant = await app.signUp({ organizationName: 'Twin relays' });
    const bus = memoryEventBus();
    const received: EventEnvelope[] = [];
    bus.subscribe((event) => received.push(event));
    const relays = [
      createRelay({ database: app.database, bus, pollMs: 50 }),
      createRelay({ database: app.database, bus, pollMs: 50 }),
    ];
    await Promise.all(relays.map((relay) => relay.start()));
    await Promise.all([createOrgs(tenant, 12, 'A'), createOrgs(tenant, 12, 'B')]);
    const head = await headSeq(tenant);
    await waitFor(() => deduplicated(received, tenant.tenantId).includes(head));
    await Promise.all(relays.map((relay) => relay.stop()));
    const mine = received.filter((event) => event.tenantId === tenant.tenantId).map((event) => event.seq);
    expect(mine).toEqual(Array.from({ length: head }, (_, index) => index + 1));
  });
});

describe.skipIf(!testConfig.REDIS_URL)('Redis Streams consumer groups', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testConfig.REDIS_URL as string);
  });
  afterAll(() => redis.disconnect());

  const envelope = (seq: number, tenantId = crypto.randomUUID()): EventEnvelope => ({
    id: crypto.randomUUID(),
    seq,
    type: 'organization.deleted',
    version: 1,
    tenantId,
    occurredAt: new Date().toISOString(),
    actor: { type: 'system' },
    data: { organization: { id: crypto.randomUUID(), name: `Org ${seq}`, parentId: null } },
  });

  test('a group shares the work: each event handled once, acknowledged', async () => {
    const stream = `wr:test:${crypto.randomUUID()}`;
    const bus = redisEventBus(redis, { stream, blockMs: 100 });
    const handled: Array<[string, number]> = [];
    const consumers = ['a', 'b'].map((consumer) =>
      bus.consume(
        'webhooks',
        async (event) => {
          handled.push([consumer, event.seq]);
        },
        { consumer },
      ),
    );
    await Bun.sleep(300);
    const tenantId = crypto.randomUUID();
    await bus.append(Array.from({ length: 50 }, (_, index) => envelope(index + 1, tenantId)));
    await waitFor(() => handled.length >= 50);
    await Bun.sleep(200);
    expect(handled.map(([, seq]) => seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const [pendingCount] = (await redis.xpending(stream, 'webhooks')) as [number];
    expect(pendingCount).toBe(0);
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    await bus.close();
  });

  test('a poison event is retried, then parked; the others flow on', async () => {
    const stream = `wr:test:${crypto.randomUUID()}`;
    const bus = redisEventBus(redis, { stream, blockMs: 100 });
    const attempts = new Map<number, number>();
    const done: number[] = [];
    const consumer = bus.consume(
      'notifier',
      async (event) => {
        attempts.set(event.seq, (attempts.get(event.seq) ?? 0) + 1);
        if (event.seq === 3) throw new Error('cannot render this one');
        done.push(event.seq);
      },
      { maxDeliveries: 3, retryDelayMs: 100 },
    );
    await Bun.sleep(300);
    await bus.append([1, 2, 3, 4, 5].map((seq) => envelope(seq)));
    await waitFor(async () => (await bus.parked('notifier')).length === 1, 10_000, 'the parked event');
    expect(done.sort()).toEqual([1, 2, 4, 5]);
    expect(attempts.get(3)).toBe(3);
    const [parked] = await bus.parked('notifier');
    expect(parked).toMatchObject({ deliveries: 3, error: 'cannot render this one', event: { seq: 3 } });
    const [pendingCount] = (await redis.xpending(stream, 'notifier')) as [number];
    expect(pendingCount).toBe(0);
    await consumer.stop();
    await bus.close();
  });

  test('entries held by a consumer that died are taken over by another', async () => {
    const stream = `wr:test:${crypto.randomUUID()}`;
    const bus = redisEventBus(redis, { stream, blockMs: 100 });
    // The first consumer takes entries and dies without acknowledging them.
    await redis.xgroup('CREATE', stream, 'mailer', '$', 'MKSTREAM');
    await bus.append([1, 2, 3].map((seq) => envelope(seq)));
    const taken = await redis.xreadgroup(
      'GROUP',
      'mailer',
      'dead-consumer',
      'COUNT',
      10,
      'STREAMS',
      stream,
      '>',
    );
    expect(taken).not.toBeNull();
    const handled: number[] = [];
    const survivor = bus.consume(
      'mailer',
      async (event) => {
        handled.push(event.seq);
      },
      { consumer: 'survivor', reclaimIdleMs: 200, retryDelayMs: 200 },
    );
    await waitFor(() => handled.length === 3, 10_000, 'the reclaimed entries');
    expect(handled.sort()).toEqual([1, 2, 3]);
    await survivor.stop();
    await bus.close();
  });

  test('the stream is trimmed: it cannot grow without bound', async () => {
    const stream = `wr:test:${crypto.randomUUID()}`;
    const bus = redisEventBus(redis, { stream, maxLength: 100 });
    for (let batch = 0; batch < 10; batch++) {
      await bus.append(Array.from({ length: 100 }, (_, index) => envelope(batch * 100 + index + 1)));
    }
    const length = await bus.length();
    expect(length).toBeLessThan(400);
    expect(length).toBeGreaterThanOrEqual(100);
    await bus.close();
    await redis.del(stream);
  });
});

describe.skipIf(!testConfig.REDIS_URL)('Redis stopped while requests go on', () => {
  test('nothing is lost: every event arrives, in order, once Redis is back', async () => {
    const port = freePort();
    const start = () =>
      Bun.spawn(
        ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdout: 'ignore',
          stderr: 'ignore',
        },
      );
    let server = start();
    const url = `redis://127.0.0.1:${port}`;
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    probe.on('error', () => {});
    await waitFor(async () => (await probe.ping().catch(() => '')) === 'PONG', 10_000, 'redis-server');

    const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {});
    const bus = redisEventBus(redis, { blockMs: 200 });
    const received: EventEnvelope[] = [];
    bus.subscribe((event) => received.push(event));
    await bus.subscribed();
    const relay = createRelay({ database: app.database, bus, pollMs: 200, onError: () => {} });
    await relay.start();
    const tenant = await app.signUp({ organizationName: 'Outage' });
    await createOrgs(tenant, 5, 'Before');
    await waitFor(async () => deduplicated(received, tenant.tenantId).includes(await headSeq(tenant)));

    server.kill('SIGKILL');
    await server.exited;
    // Requests keep succeeding while Redis is down; their events wait in the outbox.
    await createOrgs(tenant, 10, 'During');
    await Bun.sleep(500);
    expect((await relay.lag()).events).toBeGreaterThan(0);

    server = start();
    await waitFor(async () => (await probe.ping().catch(() => '')) === 'PONG', 10_000, 'redis-server again');
    const head = await headSeq(tenant);
    await waitFor(
      () => deduplicated(received, tenant.tenantId).includes(head),
      20_000,
      'the events after the outage',
    );
    expect(deduplicated(received, tenant.tenantId)).toEqual(
      Array.from({ length: head }, (_, index) => index + 1),
    );
    expect(isOrdered(received, tenant.tenantId)).toBe(true);

    await relay.stop();
    await bus.close();
    redis.disconnect();
    probe.disconnect();
    server.kill();
    await server.exited;
  }, 60_000);
});

// Last: its events are left for no relay to move, which the fault tests above would trip over.
describe('waking the relay', () => {
  test('a commit that published tells this process, with its tenant; a rollback or a read does not', async () => {
    const woken: string[] = [];
    const stop = app.database.onEventsCommitted((tenantId) => woken.push(tenantId));
    try {
      await createOrgs(owner, 1, 'Wake');
      expect(woken).toEqual([owner.tenantId]);
      await app.request('GET', '/v1/organizations', { token: owner.token });
      const refused = await app.request('POST', '/v1/organizations', {
        token: owner.token,
        body: { name: 'Orphan', parentId: Bun.randomUUIDv7() },
      });
      expect(refused.status).toBe(422);
      await expect(
        withTenant(app.database, owner.tenantId, async (db) => {
          await publish(db, 'tenant.updated', {
            tenant: {
              id: owner.tenantId,
              name: 'x',
              slug: 'x',
              status: 'active',
              branding: { logoUrl: null, primaryColor: null, customDomain: null },
              createdAt: new Date().toISOString(),
              updatedAt: new Date().toISOString(),
            },
            changes: ['name'],
          });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(woken).toEqual([owner.tenantId]);
      // A consumption is one statement that publishes: its commit wakes the relay too.
      await app.request('POST', '/v1/credits/grants', {
        token: owner.token,
        body: { amount: 5, reason: 'w' },
      });
      woken.length = 0;
      const spent = await app.request('POST', '/v1/credits/consume', {
        token: owner.token,
        body: { amount: 1, reason: 'w' },
        headers: { 'idempotency-key': crypto.randomUUID() },
      });
      expect(spent.status).toBe(201);
      expect(woken).toEqual([owner.tenantId]);
    } finally {
      stop();
    }
  });
});
