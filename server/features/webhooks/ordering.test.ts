import { afterAll, beforeAll, expect, test } from 'bun:test';
import { eventually } from '../../testing/eventually.ts';
import { type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';

// Ordered delivery, which none of the anchors offers: an endpoint with `ordering: per-endpoint` whose
// receiver fails at random still gets every message, in the order of the tenant's log.
const EVENTS = 500;
let app: TestApp;
let owner: SignedUp;
let crm: WebhookReceiver;

/** A seeded generator, so a failing run can be repeated exactly. */
function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

beforeAll(async () => {
  app = await startTestApp({
    realtime: {},
    // Short waits and enough of them that no message is given up in this test.
    webhooks: { allowPrivate: true, allowHttp: true, retrySchedule: Array(40).fill('0.02').join(',') },
  });
  owner = await app.signUp();
});

afterAll(async () => {
  crm?.stop();
  await app.dispose();
});

test(`${EVENTS} events to an ordered endpoint failing at random arrive in seq order, each at least once, none missing`, async () => {
  const random = seeded(20261202);
  const accepted: number[] = [];
  crm = startWebhookReceiver({
    respond: (_request, received) => {
      if (random() < 0.3) return new Response('flaky', { status: 500 });
      accepted.push(received.event.seq);
      return new Response(null, { status: 204 });
    },
  });
  const endpoint = await app.request('POST', '/v1/webhooks/endpoints', {
    token: owner.token,
    body: { url: crm.url, eventTypes: ['organization.created'], ordering: 'per-endpoint' },
  });
  expect(endpoint.status).toBe(201);
  // Made 8 at a time: their seqs interleave with other events (audit entries) as the log orders them.
  for (let start = 0; start < EVENTS; start += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, EVENTS - start) }, (_, index) =>
        app.request('POST', '/v1/organizations', {
          token: owner.token,
          body: { name: `Ordered ${start + index}` },
        }),
      ),
    );
  }
  const published: number[] = [];
  // From the endpoint's own creation on: what came before is not for it.
  const made = await app.request('GET', '/v1/events?types=webhook.endpoint_created', { token: owner.token });
  let after: number = made.body.items[0].seq;
  for (;;) {
    const page = await app.request('GET', `/v1/events?after=${after}&types=organization.created&limit=500`, {
      token: owner.token,
    });
    const items = page.body.items as Array<{ seq: number }>;
    if (items.length === 0) break;
    published.push(...items.map((item) => item.seq));
    after = items.at(-1)?.seq ?? after;
  }
  expect(published).toHaveLength(EVENTS);
  await eventually(
    () => (accepted.length >= EVENTS ? true : undefined),
    `${EVENTS} accepted deliveries`,
    120_000,
  );
  expect(accepted).toEqual(published);
  const arrivals = crm.received.map((entry) => entry.event.seq);
  expect(arrivals.every((seq, index) => index === 0 || seq >= (arrivals[index - 1] ?? 0))).toBe(true);
  expect(arrivals.length).toBeGreaterThan(EVENTS); // some were refused and sent again
});
