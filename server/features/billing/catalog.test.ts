import { describe, expect, test } from 'bun:test';
import { resolve } from 'node:path';
import { ConfigError } from '../../config.ts';
import { startTestApp } from '../../testing/harness.ts';
import { grantPlatformAdmin } from '../admin/grant.ts';
import { builtInCatalog, loadBillingCatalog, parseBillingCatalog, syncBillingCatalog } from './catalog.ts';

const problemsOf = (input: unknown): string[] => {
  try {
    parseBillingCatalog(input, 'test');
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('billing catalog', () => {
  test('the example file and the built-in catalog are valid', async () => {
    const example = await loadBillingCatalog(
      resolve(import.meta.dir, '../../../ops/billing-catalog.example.json'),
    );
    expect(example.plans.map((plan) => plan.id)).toContain('pro-yearly');
    expect(problemsOf(builtInCatalog)).toEqual([]);
  });

  test('every problem is reported at once, and where', () => {
    const plan = { id: 'pro', name: 'Pro', monthlyCredits: 10, stripePriceId: 'price_1' };
    expect(problemsOf({ plans: [] })).not.toEqual([]);
    expect(problemsOf({ plans: [{ ...plan, id: 'Pro Plan' }], creditPacks: [] }).join()).toContain(
      '/plans/0/id',
    );
    expect(problemsOf({ plans: [{ ...plan, monthlyCredits: -1 }], creditPacks: [] }).join()).toContain(
      '/plans/0/monthlyCredits',
    );
    expect(problemsOf({ plans: [{ ...plan, stripePriceId: 'prod_1' }], creditPacks: [] }).join()).toContain(
      'stripePriceId',
    );
    expect(problemsOf({ plans: [{ ...plan, surprise: true }], creditPacks: [] })).not.toEqual([]);
    expect(problemsOf({ plans: [plan, plan], creditPacks: [] }).join()).toContain('"pro" twice');
    expect(
      problemsOf({
        plans: [plan],
        creditPacks: [{ id: 'pack', name: 'Pack', credits: 5, stripePriceId: 'price_1' }],
      }).join(),
    ).toContain('price_1 is sold twice');
    expect(
      problemsOf({ plans: [plan], creditPacks: [{ id: 'pack', name: 'Pack', credits: 0 }] }).join(),
    ).toContain('/creditPacks/0/credits');
  });

  test('a missing or unreadable file stops the start with a clear message', async () => {
    await expect(loadBillingCatalog('/nonexistent/catalog.json')).rejects.toThrow('no file at');
    const path = `/tmp/wrapper-catalog-${crypto.randomUUID()}.json`;
    await Bun.write(path, '{ not json');
    await expect(loadBillingCatalog(path)).rejects.toThrow('is not JSON');
  });

  test('a sync updates entries; those no longer listed stay for their tenants but are not offered', async () => {
    const app = await startTestApp();
    try {
      const admin = await app.signUp();
      const tenant = await app.signUp();
      await grantPlatformAdmin(app.database, admin.email);
      await app.request('PATCH', `/v1/admin/tenants/${tenant.tenantId}`, {
        token: admin.token,
        body: { planId: 'business' },
      });
      await syncBillingCatalog(app.database.owner, {
        plans: [
          { id: 'free', name: 'Free forever', monthlyCredits: 50 },
          { id: 'pro', name: 'Pro', monthlyCredits: 20_000, stripePriceId: 'price_moved' },
        ],
        creditPacks: [],
      });
      // Run twice, as two nodes starting would: the same result.
      await syncBillingCatalog(app.database.owner, {
        plans: [
          { id: 'free', name: 'Free forever', monthlyCredits: 50 },
          { id: 'pro', name: 'Pro', monthlyCredits: 20_000, stripePriceId: 'price_moved' },
        ],
        creditPacks: [],
      });
      const plans = await app.request('GET', '/v1/billing/plans', { token: tenant.token });
      expect(plans.body.items.map((plan: { id: string; name: string }) => [plan.id, plan.name])).toEqual([
        ['free', 'Free forever'],
        ['pro', 'Pro'],
      ]);
      expect(plans.body.creditPacks).toEqual([]);
      const subscription = await app.request('GET', '/v1/billing/subscription', { token: tenant.token });
      expect(subscription.body).toMatchObject({ planId: 'business', plan: { name: 'Business' } });
    } finally {
      await app.dispose();
    }
  });
});
