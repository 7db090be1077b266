import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import { billingAccounts, events } from '../../../db/schema/index.ts';
import { createLogger } from '../../logger.ts';
import {
  auditEntriesOf,
  joinWithRole,
  type SignedUp,
  startTestApp,
  type TestApp,
} from '../../testing/harness.ts';
import { builtInRoles } from '../access/permissions.ts';
import { grantPlatformAdmin } from '../admin/grant.ts';
import { renewManualPlans } from './renewals.ts';

const silent = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

// Billing on a platform without Stripe: plans shown, payments refused with a clear problem, and platform
// admins setting plans and adjusting credits by hand.

let app: TestApp;
let admin: SignedUp;
let customer: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  admin = await app.signUp({ organizationName: 'Platform HQ' });
  customer = await app.signUp({ organizationName: 'Customer Inc' });
  expect(await grantPlatformAdmin(app.database, admin.email)).toBe(true);
});
afterAll(() => app.dispose());

async function ledgerSum(tenantId: string): Promise<{ sum: number; balance: number }> {
  const [row] = await selectRows<{ sum: string; balance: string }>(
    app.database.owner,
    sql`select coalesce((select sum(amount) from credit_ledger where tenant_id = ${tenantId}), 0) as sum,
               coalesce((select balance from credit_balances where tenant_id = ${tenantId}), 0) as balance`,
  );
  return { sum: Number(row?.sum), balance: Number(row?.balance) };
}

const eventTypes = async (tenantId: string): Promise<{ type: string; actor: Record<string, unknown> }[]> =>
  (
    await app.database.owner
      .select({ type: events.type, actor: events.actor })
      .from(events)
      .where(eq(events.tenantId, tenantId))
      .orderBy(events.seq)
  ).map((row) => ({ type: row.type, actor: row.actor as Record<string, unknown> }));

describe('billing without Stripe', () => {
  test('plans and credit packs are listed; the subscription is none; Checkout and Portal answer 503', async () => {
    const plans = await app.request('GET', '/v1/billing/plans', { token: customer.token });
    expect(plans.status).toBe(200);
    expect(plans.body.checkoutAvailable).toBe(false);
    expect(plans.body.items.map((plan: { id: string }) => plan.id)).toEqual(['free', 'pro', 'business']);
    expect(plans.body.items[1]).toMatchObject({
      monthlyCredits: 10_000,
      price: { amount: 2900, currency: 'usd', interval: 'month' },
    });
    expect(plans.body.creditPacks.map((pack: { id: string }) => pack.id)).toEqual(['pack-1k', 'pack-10k']);

    const subscription = await app.request('GET', '/v1/billing/subscription', { token: customer.token });
    expect(subscription.body).toEqual({
      planId: null,
      plan: null,
      status: 'none',
      source: null,
      currentPeriodStart: null,
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      customer: false,
    });

    for (const [path, body] of [
      ['/v1/billing/checkout', { planId: 'pro' }],
      ['/v1/billing/checkout', { creditPackId: 'pack-1k' }],
      ['/v1/billing/portal', undefined],
    ] as const) {
      const answer = await app.request('POST', path, { token: customer.token, body });
      expect(answer.status).toBe(503);
      expect(answer.body.type).toBe('/problems/billing-not-configured');
    }
    const webhook = await app.request('POST', '/v1/billing/stripe/webhook', {
      rawBody: '{"id":"evt_1"}',
      headers: { 'stripe-signature': 't=1,v1=00', 'content-type': 'application/json' },
    });
    expect(webhook.status).toBe(503);
  });

  test('checkout needs billing:manage and exactly one of planId and creditPackId', async () => {
    expect((await app.request('GET', '/v1/billing/plans')).status).toBe(401);
    for (const body of [{}, { planId: 'pro', creditPackId: 'pack-1k' }, { planId: 'PRO' }, { plan: 'pro' }]) {
      const answer = await app.request('POST', '/v1/billing/checkout', { token: customer.token, body });
      expect(answer.status).toBe(422);
    }
    // Without billing:manage, refused before anything else; reading the plan needs credits:read only.
    const member = await joinWithRole(app, customer.tenantId, 'member');
    const refused = await app.request('POST', '/v1/billing/checkout', {
      token: member.token,
      body: { planId: 'pro' },
    });
    expect(refused.status).toBe(403);
    expect((await app.request('POST', '/v1/billing/portal', { token: member.token })).status).toBe(403);
    expect((await app.request('GET', '/v1/billing/subscription', { token: member.token })).status).toBe(200);
  });

  test('a platform admin sets a plan: a month with its allowance, recorded, published', async () => {
    const set = await app.request('PATCH', `/v1/admin/tenants/${customer.tenantId}`, {
      token: admin.token,
      body: { planId: 'pro' },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id: customer.tenantId, planId: 'pro', status: 'active' });

    const subscription = await app.request('GET', '/v1/billing/subscription', { token: customer.token });
    expect(subscription.body).toMatchObject({ planId: 'pro', status: 'active', source: 'manual' });
    expect(subscription.body.plan.monthlyCredits).toBe(10_000);
    const periodEnd = Date.parse(subscription.body.currentPeriodEnd);
    expect(periodEnd - Date.parse(subscription.body.currentPeriodStart)).toBe(30 * 24 * 3600 * 1000);

    const credits = await app.request('GET', '/v1/credits', { token: customer.token });
    expect(credits.body.balance).toBe(10_000);
    const ledger = await app.request('GET', '/v1/credits/transactions', { token: customer.token });
    expect(ledger.body.items[0]).toMatchObject({
      type: 'grant',
      amount: 10_000,
      reason: 'Pro plan allowance',
    });

    const published = await eventTypes(customer.tenantId);
    expect(published.map((event) => event.type)).toEqual(
      expect.arrayContaining(['credits.granted', 'billing.subscription.updated']),
    );
    expect(published.find((event) => event.type === 'billing.subscription.updated')?.actor).toEqual({
      type: 'platform_admin',
      id: admin.userId,
    });
    // The audit entry is the record of it (admin_actions is no longer written).
    const recorded = (await auditEntriesOf(app.database, customer.tenantId)).find(
      (entry) => entry.action === 'admin.tenant_updated',
    );
    expect(recorded).toMatchObject({
      actorType: 'platform_admin',
      actorId: admin.userId,
      changes: { planId: [null, 'pro'] },
      metadata: { creditsGranted: 10_000 },
    });

    const list = await app.request('GET', '/v1/admin/tenants?limit=100', { token: admin.token });
    expect(list.body.items.find((tenant: { id: string }) => tenant.id === customer.tenantId)?.planId).toBe(
      'pro',
    );

    // Removing the plan leaves the credits already granted.
    const cleared = await app.request('PATCH', `/v1/admin/tenants/${customer.tenantId}`, {
      token: admin.token,
      body: { planId: null },
    });
    expect(cleared.body.planId).toBeNull();
    expect(
      (await app.request('GET', '/v1/billing/subscription', { token: customer.token })).body,
    ).toMatchObject({
      planId: null,
      status: 'none',
    });
    expect((await app.request('GET', '/v1/credits', { token: customer.token })).body.balance).toBe(10_000);
  });

  test('a plan set by hand renews every period with its allowance, once, even with two renewers at once', async () => {
    const tenant = await app.signUp();
    await app.request('PATCH', `/v1/admin/tenants/${tenant.tenantId}`, {
      token: admin.token,
      body: { planId: 'free' },
    });
    expect((await app.request('GET', '/v1/credits', { token: tenant.token })).body.balance).toBe(500);
    expect(await renewManualPlans(app.database, silent)).toBe(0);
    // The period ends (moved back in time, as the clock would).
    const end = new Date(Date.now() - 1_000);
    await app.database.owner
      .update(billingAccounts)
      .set({ currentPeriodStart: new Date(end.getTime() - 30 * 86_400_000), currentPeriodEnd: end })
      .where(eq(billingAccounts.tenantId, tenant.tenantId));
    const renewed = await Promise.all([
      renewManualPlans(app.database, silent),
      renewManualPlans(app.database, silent),
    ]);
    expect(renewed.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(1);
    expect((await app.request('GET', '/v1/credits', { token: tenant.token })).body.balance).toBe(1_000);
    const subscription = await app.request('GET', '/v1/billing/subscription', { token: tenant.token });
    expect(subscription.body.currentPeriodStart).toBe(end.toISOString());
    expect(Date.parse(subscription.body.currentPeriodEnd)).toBe(end.getTime() + 30 * 86_400_000);
    expect(await renewManualPlans(app.database, silent)).toBe(0);
    // The renewal is recorded once, by the job.
    const renewals = (await auditEntriesOf(app.database, tenant.tenantId)).filter(
      (entry) => entry.action === 'billing.plan_renewed',
    );
    expect(renewals).toEqual([
      expect.objectContaining({ actorType: 'system', actorId: 'billing.manual-plan-renewals' }),
    ]);
    expect(renewals[0]?.targets).toEqual([{ type: 'plan', id: 'free', name: 'Free' }]);
    const allowances = await selectRows<{ external_id: string }>(
      app.database.owner,
      sql`select external_id from credit_lots where tenant_id = ${tenant.tenantId} and source = 'allowance'`,
    );
    expect(allowances).toHaveLength(2);
  });

  test('a platform admin adjusts credits up and down, never below zero; recorded', async () => {
    const tenant = await app.signUp();
    const path = `/v1/admin/tenants/${tenant.tenantId}/credits`;
    const added = await app.request('POST', path, {
      token: admin.token,
      body: { amount: 300, reason: 'Goodwill' },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ balance: 300, transaction: { type: 'adjust', amount: 300 } });
    const removed = await app.request('POST', path, {
      token: admin.token,
      body: { amount: -120, reason: 'Correction' },
    });
    expect(removed.body).toMatchObject({ balance: 180, transaction: { type: 'adjust', amount: -120 } });
    const tooMuch = await app.request('POST', path, {
      token: admin.token,
      body: { amount: -181, reason: 'Too much' },
    });
    expect(tooMuch.status).toBe(402);
    expect(tooMuch.body).toMatchObject({ type: '/problems/insufficient-credits', balance: 180 });
    expect(await ledgerSum(tenant.tenantId)).toEqual({ sum: 180, balance: 180 });

    const spent = await app.request('POST', '/v1/credits/consume', {
      token: tenant.token,
      body: { amount: 30, reason: 'Work' },
      headers: { 'idempotency-key': crypto.randomUUID() },
    });
    expect(spent.body.balance).toBe(150);
    const history = await app.request('GET', '/v1/credits/transactions', { token: tenant.token });
    expect(
      history.body.items.map((item: { type: string; amount: number }) => [item.type, item.amount]),
    ).toEqual([
      ['consume', -30],
      ['adjust', -120],
      ['adjust', 300],
    ]);
    const recorded = (await auditEntriesOf(app.database, tenant.tenantId)).filter(
      (entry) => entry.action === 'admin.credits_adjusted',
    );
    expect(
      recorded.every((entry) => entry.actorType === 'platform_admin' && entry.actorId === admin.userId),
    ).toBe(true);
    expect(recorded.map((entry) => (entry.metadata as { amount: number }).amount).sort()).toEqual([
      -120, 300,
    ]);
    const published = await eventTypes(tenant.tenantId);
    expect(published.filter((event) => event.type === 'credits.adjusted')).toHaveLength(2);
  });

  test('plan limits: seats (members and pending invitations) and API keys, never exceeded at once', async () => {
    const tenant = await app.signUp();
    const memberRole = builtInRoles.member.id;
    const invite = (email: string) =>
      app.request('POST', '/v1/invitations', { token: tenant.token, body: { email, roleIds: [memberRole] } });
    // No plan: no limits.
    for (let index = 0; index < 4; index++)
      expect((await invite(`free-${index}@example.test`)).status).toBe(201);
    const list = await app.request('GET', '/v1/invitations', { token: tenant.token });
    for (const invitation of list.body.items) {
      await app.request('DELETE', `/v1/invitations/${invitation.id}`, { token: tenant.token });
    }
    // Free allows 3 members (the owner is one) and 2 keys.
    await app.request('PATCH', `/v1/admin/tenants/${tenant.tenantId}`, {
      token: admin.token,
      body: { planId: 'free' },
    });
    const invited = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((name) => invite(`${name}@example.test`)),
    );
    expect(invited.filter((answer) => answer.status === 201)).toHaveLength(2);
    const refused = invited.find((answer) => answer.status === 402);
    expect(refused?.body).toMatchObject({
      type: '/problems/plan-limit-reached',
      limit: 'members',
      allowed: 3,
      current: 3,
      planId: 'free',
    });
    // Inviting a pending address again replaces its invitation: no new seat needed.
    const pendingEmail = (await app.request('GET', '/v1/invitations', { token: tenant.token })).body.items[0]
      .email;
    expect((await invite(pendingEmail)).status).toBe(201);

    const createKey = (name: string) =>
      app.request('POST', '/v1/api-keys', { token: tenant.token, body: { name, scopes: ['org:read'] } });
    const keys = await Promise.all(['k1', 'k2', 'k3'].map(createKey));
    expect(keys.map((answer) => answer.status).sort()).toEqual([201, 201, 402]);
    const first = keys.find((answer) => answer.status === 201);
    await app.request('DELETE', `/v1/api-keys/${first?.body.id}`, { token: tenant.token });
    expect((await createKey('k4')).status).toBe(201);
    // A bigger plan lifts the limits.
    await app.request('PATCH', `/v1/admin/tenants/${tenant.tenantId}`, {
      token: admin.token,
      body: { planId: 'pro' },
    });
    expect((await createKey('k5')).status).toBe(201);
    expect((await invite('f@example.test')).status).toBe(201);
  });

  test('admin billing: bad input, unknown tenants, and nobody else may use it', async () => {
    const path = `/v1/admin/tenants/${customer.tenantId}/credits`;
    for (const body of [
      { amount: 0, reason: 'zero' },
      { amount: 1.5, reason: 'fraction' },
      { amount: '5', reason: 'string' },
      { amount: 10 ** 13, reason: 'huge' },
      { amount: 5 },
      { amount: 5, reason: '   ' },
      { amount: -5, reason: 'expiring removal', expiresAt: new Date(Date.now() + 3600_000).toISOString() },
      { amount: 5, reason: 'past', expiresAt: new Date(Date.now() - 3600_000).toISOString() },
      { amount: 5, reason: 'extra', tenantId: admin.tenantId },
    ]) {
      const answer = await app.request('POST', path, { token: admin.token, body });
      expect([answer.status, body]).toEqual([422, body]);
    }
    const unknown = await app.request('POST', `/v1/admin/tenants/${Bun.randomUUIDv7()}/credits`, {
      token: admin.token,
      body: { amount: 5, reason: 'nobody' },
    });
    expect(unknown.status).toBe(404);
    const unknownPlan = await app.request('PATCH', `/v1/admin/tenants/${Bun.randomUUIDv7()}`, {
      token: admin.token,
      body: { planId: 'pro' },
    });
    expect(unknownPlan.status).toBe(404);

    const before = await ledgerSum(admin.tenantId);
    // A tenant's owner is not a platform admin: not for their own tenant, not for another.
    for (const target of [customer.tenantId, admin.tenantId]) {
      const asOwner = await app.request('POST', `/v1/admin/tenants/${target}/credits`, {
        token: customer.token,
        body: { amount: 1_000, reason: 'Free money' },
      });
      expect(asOwner.status).toBe(403);
      const planAsOwner = await app.request('PATCH', `/v1/admin/tenants/${target}`, {
        token: customer.token,
        body: { planId: 'business' },
      });
      expect(planAsOwner.status).toBe(403);
    }
    expect(await ledgerSum(admin.tenantId)).toEqual(before);
    expect(
      (await app.request('GET', '/v1/billing/subscription', { token: customer.token })).body.planId,
    ).toBeNull();
  });
});
