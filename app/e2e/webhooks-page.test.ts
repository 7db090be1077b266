import { describe, expect, test } from 'bun:test';
import type { Locator, Page } from 'playwright-core';
import { startWebhookReceiver } from '../../server/testing/webhook-receiver.ts';
import {
  accessTokenOf,
  callApi,
  goToSection,
  inviteThroughTheApp,
  joinAsNewPerson,
  liveUpdatesConnected,
  markPage,
  newPage,
  signUpThroughTheApp,
  stillTheSamePage,
  uniqueSuffix,
  useProduct,
} from './harness.ts';

// The webhooks page, end to end: an owner adds an endpoint for a receiver on loopback (which checks every
// request's signature with the standardwebhooks package), reads the secret shown once, and watches the
// deliveries of the events that follow arrive on the open page as the server attempts them — succeeded,
// failed after its retries, replayed, recovered — with each attempt's answer; a 410 disables the endpoint
// and Enable starts it again; rotating shows a new secret that signs beside the old one. A member without
// webhooks:manage gets neither the section nor the page.

const running = useProduct(async (onStop) => {
  const receiver = startWebhookReceiver();
  onStop(() => receiver.stop());
  return {
    options: {
      env: {
        // The receiver is on loopback, over plain HTTP; failed attempts are tried again within a second.
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_RETRY_SCHEDULE: '0.3,0.3',
        WEBHOOK_TIMEOUT_SECONDS: '5',
      },
    },
    extra: { receiver },
  };
});

function deliveryRows(page: Page, eventType: string): Locator {
  return page
    .getByRole('table', { name: 'Deliveries' })
    .locator('tbody tr[data-delivery-id]')
    .filter({ hasText: eventType });
}

async function webhooksPageLive(page: Page): Promise<void> {
  await page.getByRole('main').getByRole('status', { name: 'Live updates: connected' }).waitFor();
}

/** Waits until exactly `count` deliveries of `eventType` are listed. */
async function deliveryCountIs(page: Page, eventType: string, count: number): Promise<void> {
  await page.waitForFunction(
    ({ type, expected }) =>
      [...document.querySelectorAll('table[aria-label="Deliveries"] tbody tr[data-delivery-id]')].filter(
        (row) => row.textContent?.includes(type),
      ).length === expected,
    { type: eventType, expected: count },
  );
}

/** Waits until the timeline lists exactly `count` deliveries. */
async function allDeliveriesShown(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (expected) =>
      document.querySelectorAll('table[aria-label="Deliveries"] tbody tr[data-delivery-id]').length ===
      expected,
    count,
  );
}

describe('the webhooks page', () => {
  test('an owner adds an endpoint, sees deliveries live, replays, recovers, re-enables, rotates and deletes', async () => {
    const { baseUrl, browser, receiver } = running();
    const unique = uniqueSuffix();
    const page = await newPage(browser);
    await signUpThroughTheApp(page, baseUrl, {
      name: 'Ada Lovelace',
      email: `ada+${unique}@example.com`,
      organizationName: `Analytical ${unique}`,
    });
    const token = await accessTokenOf(page);

    // Owners hold webhooks:manage: the section is in the navigation.
    await goToSection(page, baseUrl, 'Webhooks', '/webhooks');
    await page.getByText('No endpoints yet').waitFor();
    await liveUpdatesConnected(page);
    await webhooksPageLive(page);

    // A new endpoint for organization.created only, chosen among the types grouped by channel.
    const url = `${receiver.url}/hooks/${unique}`;
    const form = page.getByRole('form', { name: 'New endpoint' });
    await form.getByLabel('Endpoint URL').fill(url);
    await form.getByLabel('Description').fill('CRM sync');
    expect(await form.getByRole('radio', { name: 'All event types' }).isChecked()).toBe(true);
    await form.getByRole('radio', { name: 'Only the event types chosen' }).check();
    const organizations = form.getByRole('group', { name: /^organizations$/i });
    await organizations.getByRole('checkbox', { name: 'organization.created' }).check();
    // A person's notifications and the delivery log's own updates are never offered.
    expect(await form.getByRole('checkbox', { name: 'webhook.deliveries_updated' }).count()).toBe(0);
    expect(await form.getByRole('group', { name: /^notifications$/i }).count()).toBe(0);
    await form.getByLabel('Ordering').selectOption({ label: 'In order, one at a time' });
    await form.getByRole('button', { name: 'Add endpoint' }).click();

    // The secret, shown once.
    const reveal = page.getByRole('region', { name: /^Copy the signing secret of/ });
    await reveal.waitFor();
    await reveal.getByText('you will not see it again.').waitFor();
    const secret = (await reveal.getByLabel('Signing secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    receiver.trust(secret);
    await reveal.getByRole('button', { name: 'Copy secret' }).click();
    await reveal.getByText(/The secret is on your clipboard\.|the secret is selected/).waitFor();
    await reveal.getByRole('button', { name: 'I have stored the secret' }).click();
    await reveal.waitFor({ state: 'detached' });

    const endpointRow = page.getByRole('row', { name: `Endpoint ${url}` });
    await endpointRow.getByText('organization.created · in order').waitFor();
    await endpointRow.getByText('No attempts').waitFor();
    // The secret is in no answer after the one that made it.
    const listed = await callApi(baseUrl, token, 'GET', '/v1/webhooks/endpoints');
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const [endpoint] = listed.body.items as Array<{ id: string }>;
    if (!endpoint) throw new Error('the endpoint is not listed');

    await endpointRow.getByRole('link', { name: 'Deliveries to CRM sync' }).click();
    await page.waitForURL(`${baseUrl}/webhooks?endpoint=${endpoint.id}`);
    await page
      .getByRole('region', { name: `Deliveries to ${url}` })
      .getByText('No deliveries yet.')
      .waitFor();
    await webhooksPageLive(page);
    await markPage(page);

    // An organization made elsewhere (the API): its delivery appears as succeeded, and the receiver verified
    // it with the secret shown.
    const organizationName = `Research ${unique}`;
    expect(
      (await callApi(baseUrl, token, 'POST', '/v1/organizations', { name: organizationName })).status,
    ).toBe(201);
    await deliveryRows(page, 'organization.created')
      .filter({ hasText: /Succeeded/ })
      .waitFor();
    await receiver.until(
      () => receiver.received.some((request) => request.event.type === 'organization.created'),
      'organization.created',
    );
    const created = receiver.received.find((request) => request.event.type === 'organization.created');
    expect(created?.verifiedWith[secret]).toBe(true);
    expect((created?.event.data.organization as { name: string } | undefined)?.name).toBe(organizationName);
    await endpointRow.getByText('100%').waitFor();
    expect(await stillTheSamePage(page)).toBe(true);

    // Its attempt: when, the status code, how long it took.
    const firstDelivery = deliveryRows(page, 'organization.created').first();
    await firstDelivery.getByRole('button', { name: /^Show attempts of organization\.created/ }).click();
    const firstAttempts = page.getByRole('group', { name: /^Attempts of organization\.created/ });
    await firstAttempts.getByRole('listitem', { name: 'Attempt 1' }).getByText('HTTP 204').waitFor();
    await firstAttempts.getByText(/^\d+(\.\d)? m?s$/).waitFor();

    // The receiver fails: the test message is tried three times (the schedule has two retries), then given up.
    receiver.respondWith(() => new Response('the CRM is down', { status: 500 }));
    await endpointRow.getByRole('button', { name: 'Send a test to CRM sync' }).click();
    await endpointRow.getByText('Test message queued.').waitFor();
    const failedTest = deliveryRows(page, 'webhook.test').filter({ hasText: /Failed/ });
    await failedTest.waitFor();
    await failedTest.getByText('3 attempts').waitFor();
    await failedTest.getByRole('button', { name: /^Show attempts of webhook\.test/ }).click();
    const testAttempts = page.getByRole('group', { name: /^Attempts of webhook\.test/ });
    // The event said "3 attempts" at once; the attempt log comes with the load it set off.
    await testAttempts.getByRole('listitem', { name: 'Attempt 3' }).waitFor();
    expect(await testAttempts.getByRole('listitem').count()).toBe(3);
    for (const attempt of [1, 2, 3]) {
      const item = testAttempts.getByRole('listitem', { name: `Attempt ${attempt}` });
      await item.getByText('HTTP 500').waitFor();
      await item.getByText('http-status').waitFor();
      await item.getByLabel(`Response of attempt ${attempt}`).getByText('the CRM is down').waitFor();
    }
    // The endpoint's health names the last failure.
    await endpointRow.locator('td:nth-child(4) time').waitFor();

    // Filtering by status keeps it in the URL and shows the failed one only.
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await page.waitForURL(`${baseUrl}/webhooks?endpoint=${endpoint.id}&status=failed`);
    await deliveryCountIs(page, 'webhook.test', 1);
    await deliveryCountIs(page, 'organization.created', 0);
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await page.waitForURL(`${baseUrl}/webhooks?endpoint=${endpoint.id}`);
    await deliveryCountIs(page, 'organization.created', 1);

    // The receiver is back: Replay sends the same message (same webhook-id) again, and it succeeds.
    receiver.respondWith(() => new Response(null, { status: 204 }));
    const failedTestRequest = receiver.received.find((request) => request.event.type === 'webhook.test');
    const testRequests = () => receiver.received.filter((request) => request.event.type === 'webhook.test');
    const before = testRequests().length;
    await deliveryRows(page, 'webhook.test')
      .filter({ hasText: /Failed/ })
      .getByRole('button', { name: /^Replay webhook\.test/ })
      .click();
    await deliveryRows(page, 'webhook.test')
      .filter({ hasText: /Succeeded/ })
      .filter({ hasText: /· replay/ })
      .waitFor();
    await deliveryCountIs(page, 'webhook.test', 2);
    await receiver.until(() => testRequests().length > before, 'the replayed test');
    const replayed = testRequests().at(-1);
    expect(replayed?.id).toBe(failedTestRequest?.id ?? '');
    expect(replayed?.verifiedWith[secret]).toBe(true);

    // Another message fails while the receiver is down; "Recover failed since…" sends it again.
    receiver.respondWith(() => new Response(null, { status: 503 }));
    expect(
      (await callApi(baseUrl, token, 'POST', '/v1/organizations', { name: `Lab ${unique}` })).status,
    ).toBe(201);
    await deliveryRows(page, 'organization.created')
      .filter({ hasText: /Failed/ })
      .waitFor();
    receiver.respondWith(() => new Response(null, { status: 204 }));
    const recover = page.getByRole('form', { name: 'Recover failed deliveries' });
    await recover.getByRole('button', { name: 'Recover failed' }).click();
    await recover.getByText('1 message queued again.').waitFor();
    await deliveryCountIs(page, 'organization.created', 3);
    await deliveryRows(page, 'organization.created')
      .filter({ hasText: /Succeeded/ })
      .filter({ hasText: /· replay/ })
      .waitFor();
    expect(
      receiver.received.some(
        (request) =>
          request.event.type === 'organization.created' &&
          (request.event.data.organization as { name: string }).name === `Lab ${unique}` &&
          request.verifiedWith[secret] === true,
      ),
    ).toBe(true);
    expect(await stillTheSamePage(page)).toBe(true);

    // A 410 Gone disables the endpoint at once: the row says why, and Enable starts it again.
    receiver.respondWith(() => new Response(null, { status: 410 }));
    await endpointRow.getByRole('button', { name: 'Send a test to CRM sync' }).click();
    await endpointRow.getByText('Disabled: it answered 410 Gone').waitFor();
    receiver.respondWith(() => new Response(null, { status: 204 }));
    await endpointRow.getByRole('button', { name: 'Send a test to CRM sync' }).click();
    await page.getByRole('alert').filter({ hasText: 'Enable the endpoint first' }).waitFor();
    await endpointRow.getByRole('button', { name: 'Enable CRM sync' }).click();
    await endpointRow.getByText('Enabled', { exact: true }).waitFor();
    await endpointRow.getByRole('button', { name: 'Send a test to CRM sync' }).click();
    await endpointRow.getByText('Test message queued.').waitFor();
    await deliveryRows(page, 'webhook.test')
      .filter({ hasText: /Succeeded/ })
      .nth(1)
      .waitFor();

    // Rotating (confirmed) shows a new secret once; during the grace both sign each message.
    await endpointRow.getByRole('button', { name: 'Rotate the secret of CRM sync' }).click();
    await page
      .getByRole('group', { name: 'Confirm rotating the secret of CRM sync' })
      .getByRole('button', { name: 'Rotate secret' })
      .click();
    const rotated = page.getByRole('region', { name: /^Copy the new signing secret of/ });
    await rotated.getByText('The old secret keeps signing beside it until').waitFor();
    const newSecret = (await rotated.getByLabel('Signing secret').textContent())?.trim() ?? '';
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(secret);
    receiver.trust(newSecret);
    await rotated.getByRole('button', { name: 'I have stored the secret' }).click();
    const afterRotation = `Rotated ${unique}`;
    expect((await callApi(baseUrl, token, 'POST', '/v1/organizations', { name: afterRotation })).status).toBe(
      201,
    );
    await receiver.until(
      () =>
        receiver.received.some(
          (request) =>
            (request.event.data.organization as { name?: string } | undefined)?.name === afterRotation,
        ),
      'the message after rotating',
    );
    const signedTwice = receiver.received.find(
      (request) => (request.event.data.organization as { name?: string } | undefined)?.name === afterRotation,
    );
    expect(signedTwice?.verifiedWith[secret]).toBe(true);
    expect(signedTwice?.verifiedWith[newSecret]).toBe(true);

    // A long log comes in pages: the newest 25, then "Load more" on by cursor, each delivery once; deliveries
    // arriving afterwards push some of the first page off it, and none of those goes missing.
    const burst = `Branch ${unique}`;
    const makeOrganizations = async (from: number, to: number) => {
      const beforeBurst = receiver.received.length;
      for (let index = from; index <= to; index++) {
        const made = await callApi(baseUrl, token, 'POST', '/v1/organizations', {
          name: `${burst} ${index}`,
        });
        expect(made.status).toBe(201);
      }
      await receiver.until(() => receiver.received.length >= beforeBurst + to - from + 1, 'the burst');
    };
    const deliveriesOfEndpoint = async () =>
      (await callApi(baseUrl, token, 'GET', `/v1/webhooks/deliveries?endpointId=${endpoint.id}&limit=100`))
        .body.items as Array<{ id: string }>;
    await makeOrganizations(1, 20);
    await allDeliveriesShown(page, 25);
    await page.getByRole('button', { name: 'Load more' }).click();
    await allDeliveriesShown(page, (await deliveriesOfEndpoint()).length);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    await makeOrganizations(21, 25);
    const listedDeliveries = await deliveriesOfEndpoint();
    expect(listedDeliveries.length).toBeGreaterThan(30);
    await allDeliveriesShown(page, listedDeliveries.length);
    const shownIds = await page
      .getByRole('table', { name: 'Deliveries' })
      .locator('tbody tr[data-delivery-id]')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-delivery-id')));
    expect(new Set(shownIds)).toEqual(new Set(listedDeliveries.map((delivery) => delivery.id)));

    // Deleting (confirmed) removes the endpoint and its deliveries.
    await endpointRow.getByRole('button', { name: 'Delete CRM sync' }).click();
    await page
      .getByRole('group', { name: 'Confirm deleting CRM sync' })
      .getByRole('button', { name: 'Delete endpoint' })
      .click();
    await page.getByText('No endpoints yet').waitFor();
    await page.getByText('This endpoint no longer exists.').waitFor();
    expect(await stillTheSamePage(page)).toBe(true);

    await page.context().close();
  }, 180_000);

  test('a member without webhooks:manage gets neither the section nor the page', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const owner = await newPage(browser);
    await signUpThroughTheApp(owner, baseUrl, {
      name: 'Peter Gibbons',
      email: `peter+${unique}@example.com`,
      organizationName: `Initech ${unique}`,
    });
    const memberEmail = `bob+${unique}@example.com`;
    await inviteThroughTheApp(owner, baseUrl, { email: memberEmail, role: 'Member' });

    const member = await newPage(browser);
    await joinAsNewPerson(member, baseUrl, { email: memberEmail, name: 'Bob Porter' });
    const navigation = member.getByRole('navigation', { name: 'Main' });
    await navigation.getByRole('link', { name: 'Organizations' }).waitFor();
    expect(await navigation.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
    await member.goto(`${baseUrl}/webhooks`);
    await member.getByRole('heading', { name: 'You do not have access to this page' }).waitFor();
    expect(await member.getByRole('table', { name: 'Webhook endpoints' }).count()).toBe(0);
    expect(await member.getByRole('form', { name: 'New endpoint' }).count()).toBe(0);
    // The server is the judge: the API refuses the member too.
    const refused = await callApi(baseUrl, await accessTokenOf(member), 'GET', '/v1/webhooks/endpoints');
    expect(refused.status).toBe(403);

    // The owner's navigation has it.
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).waitFor();

    await member.context().close();
    await owner.context().close();
  }, 120_000);
});
