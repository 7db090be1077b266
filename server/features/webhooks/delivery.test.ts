import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import { eventually } from '../../testing/eventually.ts';
import {
  auditEntriesOf,
  chainVerifies,
  type SignedUp,
  startTestApp,
  type TestApp,
} from '../../testing/harness.ts';
import {
  type Responder,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../testing/webhook-receiver.ts';

// Real deliveries over loopback HTTP to receivers that verify with the Standard Webhooks library; the
// schedule is made short (0.3 s between attempts) so retries happen within a test.
let app: TestApp;
let owner: SignedUp;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  app = await startTestApp({
    realtime: {},
    webhooks: { allowPrivate: true, allowHttp: true, timeoutSeconds: 2, retrySchedule: '0.3,0.3,0.3' },
  });
  owner = await app.signUp();
});

afterAll(async () => {
  for (const receiver of receivers) receiver.stop();
  await app.dispose();
});

function receiver(respond?: Responder) {
  const started = startWebhookReceiver({ respond });
  receivers.push(started);
  return started;
}

async function addEndpoint(url: string, body: Record<string, unknown> = {}, who = owner) {
  const created = await app.request('POST', '/v1/webhooks/endpoints', {
    token: who.token,
    body: { url, eventTypes: ['organization.created'], ...body },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ url, enabled: true, rateLimit: body.rateLimit ?? null });
  return created.body as { id: string; secret: string };
}

const makeOrganization = async (name: string, who = owner) => {
  const made = await app.request('POST', '/v1/organizations', { token: who.token, body: { name } });
  expect(made.status).toBe(201);
  return made.body as { id: string };
};

async function deliveriesOf(endpointId: string) {
  const page = await app.request('GET', `/v1/webhooks/deliveries?endpointId=${endpointId}`, {
    token: owner.token,
  });
  expect(page.status).toBe(200);
  return page.body.items as Array<{
    id: string;
    status: string;
    attempts: number;
    eventId: string;
    attemptLog: Array<{
      statusCode: number | null;
      errorClass: string | null;
      responseExcerpt: string | null;
      error: string | null;
    }>;
  }>;
}

describe('webhook delivery', () => {
  test('a change reaches the receiver signed as the spec says, once, with the event as its body', async () => {
    const crm = receiver();
    const endpoint = await addEndpoint(crm.url);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    crm.trust(endpoint.secret);
    const organization = await makeOrganization('Delivered');
    await crm.until(() => crm.received.length === 1, 'delivery');
    const [got] = crm.received;
    expect(got?.verifiedWith[endpoint.secret]).toBe(true);
    expect(got?.event.type).toBe('organization.created');
    expect(got?.event.tenantId).toBe(owner.tenantId);
    expect((got?.event.data.organization as { id: string } | undefined)?.id).toBe(organization.id);
    // webhook-id is the event's id: stable across retries and replays, for the receiver to drop repeats.
    expect(got?.id).toBe(got?.event.id);
    expect(got?.host).toBe(`127.0.0.1:${crm.port}`);
    const [delivery] = await eventually(async () => {
      const items = await deliveriesOf(endpoint.id);
      return items[0]?.status === 'succeeded' ? items : undefined;
    }, 'the delivery marked succeeded');
    expect(delivery?.attempts).toBe(1);
    expect(delivery?.attemptLog.map((attempt) => attempt.statusCode)).toEqual([204]);
    // Its own creation, and events it did not ask for, never reach it.
    await app.request('PATCH', '/v1/tenant', { token: owner.token, body: { name: 'Renamed' } });
    await makeOrganization('Second');
    await crm.until(() => crm.received.length === 2, 'second delivery');
    expect(crm.received.map((entry) => entry.event.type)).toEqual([
      'organization.created',
      'organization.created',
    ]);
  });

  test('a receiver failing twice then answering 200 gets the same message three times, then it succeeds', async () => {
    const crm = receiver(
      (_request, _entry, index) => new Response('try later', { status: index < 2 ? 500 : 200 }),
    );
    const endpoint = await addEndpoint(crm.url);
    await makeOrganization('Retried');
    await crm.until(() => crm.received.length === 3, 'three attempts');
    expect(new Set(crm.received.map((entry) => entry.id)).size).toBe(1);
    const [delivery] = await eventually(async () => {
      const items = await deliveriesOf(endpoint.id);
      return items[0]?.status === 'succeeded' ? items : undefined;
    }, 'succeeded after retries');
    expect(delivery?.attemptLog.map((attempt) => [attempt.statusCode, attempt.errorClass])).toEqual([
      [500, 'http-status'],
      [500, 'http-status'],
      [200, null],
    ]);
    expect(delivery?.attemptLog[0]?.responseExcerpt).toBe('try later');
  });

  test('after the last retry a message is given up; 410 Gone disables the endpoint at once', async () => {
    const failing = receiver(() => new Response('no', { status: 503 }));
    const endpoint = await addEndpoint(failing.url);
    await makeOrganization('Given up');
    const [delivery] = await eventually(async () => {
      const items = await deliveriesOf(endpoint.id);
      return items[0]?.status === 'failed' ? items : undefined;
    }, 'given up');
    expect(delivery?.attempts).toBe(4); // the first attempt and the schedule's three retries
    expect(failing.received).toHaveLength(4);

    const gone = receiver(() => new Response(null, { status: 410 }));
    const goneEndpoint = await addEndpoint(gone.url);
    await makeOrganization('Gone');
    const disabled = await eventually(async () => {
      const read = await app.request('GET', `/v1/webhooks/endpoints/${goneEndpoint.id}`, {
        token: owner.token,
      });
      return read.body.enabled === false ? read.body : undefined;
    }, 'disabled after 410');
    expect(disabled.disabledReason).toBe('gone');
    expect(gone.received).toHaveLength(1);
    const events = await app.request('GET', '/v1/events?types=webhook.endpoint_disabled', {
      token: owner.token,
    });
    expect(
      events.body.items.map((event: { data: { endpoint: { id: string }; reason: string } }) => [
        event.data.endpoint.id,
        event.data.reason,
      ]),
    ).toEqual([[goneEndpoint.id, 'gone']]);
    const audit = await auditEntriesOf(app.database, owner.tenantId);
    expect(
      audit.filter((entry) => entry.action === 'webhook.endpoint_disabled').map((entry) => entry.actorType),
    ).toEqual(['system']);
    expect(await chainVerifies(app.database, owner.tenantId)).toBe(true);
    // Disabled, it gets nothing more; a test send is refused with a reason.
    const test = await app.request('POST', `/v1/webhooks/endpoints/${goneEndpoint.id}/test`, {
      token: owner.token,
    });
    expect(test.status).toBe(409);
    expect(test.body.type).toContain('webhook-endpoint-disabled');
  });

  test('redirects are not followed, Retry-After is honoured, a slow receiver times out, a huge answer is cut at 4 KB', async () => {
    const elsewhere = receiver();
    const redirecting = receiver(
      () => new Response(null, { status: 302, headers: { location: elsewhere.url } }),
    );
    const redirectEndpoint = await addEndpoint(redirecting.url);
    const limited = receiver((_request, _entry, index) =>
      index === 0
        ? new Response(null, { status: 429, headers: { 'retry-after': '2' } })
        : new Response(null, { status: 200 }),
    );
    await addEndpoint(limited.url);
    const slow = receiver(async () => {
      await Bun.sleep(4000);
      return new Response(null, { status: 200 });
    });
    const slowEndpoint = await addEndpoint(slow.url);
    const chunk = new Uint8Array(64 * 1024).fill(97);
    let sent = 0;
    const huge = receiver(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              if (sent >= 100 * 1024 * 1024) return controller.close();
              sent += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
          { status: 200 },
        ),
    );
    const hugeEndpoint = await addEndpoint(huge.url);
    await makeOrganization('Many receivers');

    const [redirect] = await eventually(async () => {
      const items = await deliveriesOf(redirectEndpoint.id);
      return items[0]?.status === 'failed' ? items : undefined;
    }, 'redirecting delivery given up');
    expect(
      redirect?.attemptLog.every(
        (attempt) => attempt.errorClass === 'redirect' && attempt.statusCode === 302,
      ),
    ).toBe(true);
    expect(elsewhere.received).toHaveLength(0);

    await limited.until(() => limited.received.length === 2, 'retry after 429');
    const [first, second] = limited.received;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1900);

    const [timedOut] = await eventually(async () => {
      const items = await deliveriesOf(slowEndpoint.id);
      return (items[0]?.attemptLog.length ?? 0) >= 1 ? items : undefined;
    }, 'timed-out attempt logged');
    expect(timedOut?.attemptLog[0]?.errorClass).toBe('timeout');

    const [cut] = await eventually(async () => {
      const items = await deliveriesOf(hugeEndpoint.id);
      return items[0]?.status === 'succeeded' ? items : undefined;
    }, 'huge answer delivered');
    expect(cut?.attemptLog[0]?.responseExcerpt?.length).toBe(4096);
    expect(sent).toBeLessThan(100 * 1024 * 1024);
  });

  test('during a rotation both secrets verify every delivery; afterwards only the new one', async () => {
    const crm = receiver();
    const endpoint = await addEndpoint(crm.url);
    const rotated = await app.request('POST', `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`, {
      token: owner.token,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    expect(rotated.body.previousSecretExpiresAt).not.toBeNull();
    crm.trust(endpoint.secret);
    crm.trust(rotated.body.secret);
    await makeOrganization('During rotation');
    await crm.until(() => crm.received.length === 1, 'delivery during rotation');
    expect(crm.received[0]?.signature.split(' ')).toHaveLength(2);
    expect(crm.received[0]?.verifiedWith).toEqual({ [endpoint.secret]: true, [rotated.body.secret]: true });

    const again = await app.request(
      'POST',
      `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret?graceSeconds=0`,
      {
        token: owner.token,
      },
    );
    crm.trust(again.body.secret);
    await makeOrganization('After rotation');
    await crm.until(() => crm.received.length === 2, 'delivery after rotation');
    expect(crm.received[1]?.verifiedWith).toEqual({
      [endpoint.secret]: false,
      [rotated.body.secret]: false,
      [again.body.secret]: true,
    });
  });

  test('a test send, a replay and a recovery reach the receiver with the same webhook-id as before', async () => {
    let failing = true;
    const crm = receiver(() => new Response(null, { status: failing ? 500 : 200 }));
    const endpoint = await addEndpoint(crm.url);
    const sent = await app.request('POST', `/v1/webhooks/endpoints/${endpoint.id}/test`, {
      token: owner.token,
    });
    expect(sent.status).toBe(202);
    await crm.until(() => crm.received.some((entry) => entry.event.type === 'webhook.test'), 'test message');
    expect(crm.received[0]?.id).toBe(sent.body.eventId);
    await eventually(async () => {
      const items = await deliveriesOf(endpoint.id);
      return items[0]?.status === 'failed' ? items : undefined;
    }, 'test message given up');
    failing = false;
    const recovered = await app.request('POST', `/v1/webhooks/endpoints/${endpoint.id}/recover`, {
      token: owner.token,
      body: { since: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(recovered.status).toBe(202);
    expect(recovered.body.queued).toBe(1);
    await crm.until(
      () => crm.received.at(-1)?.receivedAt !== undefined && crm.received.length === 5,
      'recovered',
    );
    expect(new Set(crm.received.map((entry) => entry.id))).toEqual(new Set([sent.body.eventId]));
    const [succeeded] = await deliveriesOf(endpoint.id);
    const replay = await app.request('POST', `/v1/webhooks/deliveries/${succeeded?.id}/replay`, {
      token: owner.token,
    });
    expect(replay.status).toBe(202);
    await crm.until(() => crm.received.length === 6, 'replayed');
    expect(crm.received[5]?.id).toBe(sent.body.eventId);
    // Nothing left to recover.
    const none = await app.request('POST', `/v1/webhooks/endpoints/${endpoint.id}/recover`, {
      token: owner.token,
      body: { since: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(none.body.queued).toBe(0);
  });

  test('an address checked at delivery: a stored URL whose host resolves to loopback is refused there', async () => {
    const crm = receiver();
    const strict = await startTestApp({ realtime: {}, webhooks: { allowHttp: true, retrySchedule: '0.2' } });
    try {
      const someone = await strict.signUp();
      const made = await strict.request('POST', '/v1/webhooks/endpoints', {
        token: someone.token,
        body: { url: 'https://hooks.example.com/in', eventTypes: ['organization.created'] },
      });
      expect(made.status).toBe(201);
      // As if the name had been re-pointed at this machine after the endpoint was made (DNS rebinding).
      await strict.database.owner.execute(
        sql`update webhook_endpoints set url = ${`http://localhost:${crm.port}/`} where id = ${made.body.id}`,
      );
      await strict.request('POST', '/v1/organizations', { token: someone.token, body: { name: 'Rebound' } });
      const attempts = await eventually(async () => {
        const rows = await selectRows<{ error_class: string; error: string }>(
          strict.database.owner,
          sql`select error_class, error from webhook_attempts where endpoint_id = ${made.body.id}`,
        );
        return rows.length >= 2 ? rows : undefined;
      }, 'refused attempts');
      expect(attempts.map((row) => row.error_class)).toEqual(['blocked-address', 'blocked-address']);
      expect(attempts[0]?.error).toContain('loopback');
      expect(crm.received).toHaveLength(0);
    } finally {
      await strict.dispose();
    }
  });

  test('a rate limit spaces the messages out: no more per second than the endpoint allows', async () => {
    const crm = receiver();
    await addEndpoint(crm.url, { rateLimit: 3 });
    for (let index = 0; index < 9; index++) await makeOrganization(`Limited ${index}`);
    await crm.until(() => crm.received.length === 9, 'nine rate-limited deliveries', 30_000);
    const times = crm.received.map((entry) => entry.receivedAt);
    // Three per one-second window at most: nine take three windows, counted when each is claimed.
    // Unlimited, nine arrive within a few hundred milliseconds; limited, the last is claimed two windows
    // after the first (the bound leaves room for arrivals lagging their claims on a loaded machine).
    expect((times[8] ?? 0) - (times[0] ?? 0)).toBeGreaterThan(1500);
  });

  test('attempts that finish together are recorded together: one live event tells of many deliveries', async () => {
    const crew = await app.signUp();
    // The receiver holds every answer until all twenty have arrived, so the attempts end at once.
    const held: Array<() => void> = [];
    const crm = receiver(
      () =>
        new Promise<Response>((answer) => {
          held.push(() => answer(new Response(null, { status: 204 })));
          if (held.length === 20) for (const release of held) release();
        }),
    );
    const endpoints = [];
    for (let index = 0; index < 20; index++)
      endpoints.push(await addEndpoint(`${crm.url}/?n=${index}`, {}, crew));
    await makeOrganization('Together', crew);
    await crm.until(() => crm.received.length === 20, 'twenty deliveries');
    type Update = { deliveries: Array<{ id: string; endpointId: string; status: string; attempts: number }> };
    const updates = await eventually(async () => {
      const page = await app.request('GET', '/v1/events?types=webhook.deliveries_updated&limit=1000', {
        token: crew.token,
      });
      expect(page.status).toBe(200);
      const items = (page.body.items as Array<{ data: Update }>).map((item) => item.data);
      return items.flatMap((item) => item.deliveries).length >= 20 ? items : undefined;
    }, 'the deliveries told of');
    const told = updates.flatMap((update) => update.deliveries);
    // Each delivery is told of once, succeeded at its first attempt, and the twenty came in fewer events.
    expect(told.map((delivery) => delivery.endpointId).sort()).toEqual(
      endpoints.map((made) => made.id).sort(),
    );
    expect(new Set(told.map((delivery) => delivery.id)).size).toBe(20);
    expect(told.every((delivery) => delivery.status === 'succeeded' && delivery.attempts === 1)).toBe(true);
    expect(updates.length).toBeLessThan(20);
  });
});
