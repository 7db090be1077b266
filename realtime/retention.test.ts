import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, eq, lte, sql } from 'drizzle-orm';
import { events } from '../db/schema/index.ts';
import { type SignedUp, startTestApp, type TestApp } from '../server/testing/harness.ts';
import { connectRealtime, type RealtimeEvent } from './client.ts';
import { pruneEvents } from './retention.ts';

// Events are kept EVENTS_RETENTION_DAYS once relayed. A replay that reaches into what was pruned is told
// so (REST: 410, realtime: an `events-pruned` refusal that the client library turns into a fresh start),
// never handed a silent gap.

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ realtime: {} });
});
afterAll(() => app.dispose());

const createOrgs = async (tenant: SignedUp, count: number) => {
  for (let index = 0; index < count; index++) {
    const response = await app.request('POST', '/v1/organizations', {
      token: tenant.token,
      body: { name: `Team ${index}`, parentId: tenant.rootOrganizationId },
    });
    expect(response.status).toBe(201);
  }
};

/** Makes a tenant's events up to `seq` look `days` old, as time would. */
const age = (tenant: SignedUp, seq: number, days: number) =>
  app.database.owner
    .update(events)
    .set({ occurredAt: sql`now() - make_interval(days => ${days})` })
    .where(and(eq(events.tenantId, tenant.tenantId), lte(events.seq, seq)));

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('event retention', () => {
  test('old relayed events are pruned; a replay reaching into them is a 410 with where the log starts', async () => {
    const tenant = await app.signUp();
    await createOrgs(tenant, 6);
    await app.realtime?.relay.drain();
    const head = (await app.request('GET', '/v1/events?limit=1', { token: tenant.token })).body.headSeq;
    expect(head).toBeGreaterThanOrEqual(7);
    await age(tenant, 4, 40);

    expect(await pruneEvents({ database: app.database, retentionDays: 30 })).toBeGreaterThanOrEqual(4);
    const gone = await app.request('GET', '/v1/events?after=0', { token: tenant.token });
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ type: '/problems/events-pruned', earliestSeq: 5, headSeq: head });
    const rest = await app.request('GET', '/v1/events?after=4', { token: tenant.token });
    expect(rest.status).toBe(200);
    expect(rest.body.items.map((event: { seq: number }) => event.seq)).toEqual(
      Array.from({ length: head - 4 }, (_, index) => index + 5),
    );
    // Nothing recent, nothing twice.
    expect(await pruneEvents({ database: app.database, retentionDays: 30 })).toBe(0);
  });

  test('events not yet relayed are kept, however old; other tenants are untouched', async () => {
    const quiet = await app.signUp();
    const busy = await app.signUp();
    await createOrgs(quiet, 2);
    await app.realtime?.relay.drain();
    await app.realtime?.relay.stop();
    try {
      await createOrgs(busy, 3);
      const busyHead = (await app.request('GET', '/v1/events?limit=1', { token: busy.token })).body.headSeq;
      await age(busy, busyHead, 90);
      await pruneEvents({ database: app.database, retentionDays: 30 });
      // What the relay had moved before it stopped (sign-up's events) may go; the rest stays.
      const first = await app.request('GET', '/v1/events?after=0', { token: busy.token });
      const after = first.status === 410 ? first.body.earliestSeq - 1 : 0;
      expect(after).toBeLessThanOrEqual(busyHead - 3);
      const kept = await app.request('GET', `/v1/events?after=${after}`, { token: busy.token });
      expect(kept.status).toBe(200);
      const seqs: number[] = kept.body.items.map((event: { seq: number }) => event.seq);
      expect(seqs.slice(-3)).toEqual([busyHead - 2, busyHead - 1, busyHead]);
      expect((await app.request('GET', '/v1/events?after=0', { token: quiet.token })).status).toBe(200);
    } finally {
      await app.realtime?.relay.start();
    }
  });

  test('realtime: resuming from a pruned seq is refused with events-pruned; the client starts afresh and says so', async () => {
    const tenant = await app.signUp();
    await createOrgs(tenant, 4);
    await app.realtime?.relay.drain();
    await age(tenant, 3, 60);
    await pruneEvents({ database: app.database, retentionDays: 30 });

    const gaps: string[] = [];
    const received: RealtimeEvent[] = [];
    const client = connectRealtime({
      url: app.baseUrl as string,
      token: tenant.token,
      seqStore: { get: () => 1, set: () => {} },
      onGap: (channel, answer) => gaps.push(`${channel}:${answer.error}:${answer.earliestSeq}`),
    });
    try {
      const answer = await client.subscribe('organizations', (event) => received.push(event));
      expect(answer.ok).toBe(true);
      expect(gaps).toEqual(['organizations:events-pruned:4']);
      const head = (await app.request('GET', '/v1/events?limit=1', { token: tenant.token })).body.headSeq;
      expect(client.lastSeq('organizations')).toBe(head);
      // Live events flow on from there.
      await createOrgs(tenant, 1);
      await waitFor(() => received.length === 1, 'the live event');
      expect(received[0]?.seq).toBe(head + 1);
    } finally {
      client.close();
    }
  });
});
