import { type Static, Type as t } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { notInArray, sql } from 'drizzle-orm';
import type { ScopedDb } from '../../../db/client.ts';
import { creditPacks, plans } from '../../../db/schema/index.ts';
import { ConfigError } from '../../config.ts';

const CatalogId = t.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' });
const StripePriceId = t.String({ pattern: '^price_[A-Za-z0-9_]+$' });
const Currency = t.String({ pattern: '^[a-z]{3}$' });

const PlanEntry = t.Object(
  {
    id: CatalogId,
    name: t.String({ minLength: 1, maxLength: 80 }),
    description: t.Optional(t.String({ maxLength: 500 })),
    stripePriceId: t.Optional(t.Union([StripePriceId, t.Null()])),
    monthlyCredits: t.Integer({ minimum: 0, maximum: 1_000_000_000_000 }),
    price: t.Optional(
      t.Union([
        t.Object({
          amount: t.Integer({ minimum: 0 }),
          currency: Currency,
          interval: t.Union([t.Literal('month'), t.Literal('year')]),
        }),
        t.Null(),
      ]),
    ),
    limits: t.Optional(t.Record(t.String({ pattern: '^[a-zA-Z][a-zA-Z0-9]*$' }), t.Number({ minimum: 0 }))),
  },
  { additionalProperties: false },
);

const CreditPackEntry = t.Object(
  {
    id: CatalogId,
    name: t.String({ minLength: 1, maxLength: 80 }),
    credits: t.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
    stripePriceId: t.Optional(t.Union([StripePriceId, t.Null()])),
    price: t.Optional(
      t.Union([t.Object({ amount: t.Integer({ minimum: 0 }), currency: Currency }), t.Null()]),
    ),
  },
  { additionalProperties: false },
);

export const BillingCatalogSchema = t.Object(
  { plans: t.Array(PlanEntry, { minItems: 1 }), creditPacks: t.Array(CreditPackEntry) },
  { additionalProperties: false },
);
export type BillingCatalog = Static<typeof BillingCatalogSchema>;

/**
 * What a platform offers when no catalog file is given: plans and packs to show and for admins to set,
 * without Stripe prices (prices belong to a Stripe account), so Checkout cannot sell them.
 */
export const builtInCatalog: BillingCatalog = {
  plans: [
    {
      id: 'free',
      name: 'Free',
      description: 'To try the product',
      monthlyCredits: 500,
      price: null,
      limits: { members: 3, apiKeys: 2 },
    },
    {
      id: 'pro',
      name: 'Pro',
      description: 'For teams using the product every day',
      monthlyCredits: 10_000,
      price: { amount: 2900, currency: 'usd', interval: 'month' },
      limits: { members: 25, apiKeys: 20 },
    },
    {
      id: 'business',
      name: 'Business',
      description: 'For organizations with many teams',
      monthlyCredits: 50_000,
      price: { amount: 9900, currency: 'usd', interval: 'month' },
      limits: { members: 250, apiKeys: 100 },
    },
  ],
  creditPacks: [
    { id: 'pack-1k', name: '1,000 credits', credits: 1_000, price: { amount: 1000, currency: 'usd' } },
    { id: 'pack-10k', name: '10,000 credits', credits: 10_000, price: { amount: 8000, currency: 'usd' } },
  ],
};

/** Checks a catalog, reporting every problem at once (as start-up configuration errors). */
export function parseBillingCatalog(input: unknown, source: string): BillingCatalog {
  const problems = [...Value.Errors(BillingCatalogSchema, input)].map(
    (error) => `BILLING_CATALOG (${source}) ${error.path || '/'}: ${error.message}`,
  );
  if (problems.length === 0) {
    const catalog = input as BillingCatalog;
    const seen = new Set<string>();
    for (const [kind, entries] of [
      ['plans', catalog.plans],
      ['creditPacks', catalog.creditPacks],
    ] as const) {
      for (const entry of entries) {
        if (seen.has(`${kind}:${entry.id}`)) problems.push(`BILLING_CATALOG: ${kind} id "${entry.id}" twice`);
        seen.add(`${kind}:${entry.id}`);
        if (entry.stripePriceId && seen.has(entry.stripePriceId))
          problems.push(`BILLING_CATALOG: Stripe price ${entry.stripePriceId} is sold twice`);
        if (entry.stripePriceId) seen.add(entry.stripePriceId);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return input as BillingCatalog;
}

/** The catalog file named by BILLING_CATALOG, or the built-in one. */
export async function loadBillingCatalog(path: string | undefined): Promise<BillingCatalog> {
  if (!path) return builtInCatalog;
  const file = Bun.file(path);
  if (!(await file.exists())) throw new ConfigError([`BILLING_CATALOG: no file at ${path}`]);
  let parsed: unknown;
  try {
    parsed = await file.json();
  } catch (error) {
    throw new ConfigError([`BILLING_CATALOG: ${path} is not JSON (${(error as Error).message})`]);
  }
  return parseBillingCatalog(parsed, path);
}

/**
 * Writes the catalog into the database (as the owner, at start): entries are created or updated, and
 * plans or packs no longer listed stay for the tenants on them but are no longer offered.
 */
export async function syncBillingCatalog(owner: ScopedDb, catalog: BillingCatalog): Promise<void> {
  await owner.transaction(async (tx) => {
    // Two nodes starting at once would race on the unique price ids; one sync at a time.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('wrapper:billing-catalog'))`);
    // A price moving from one entry to another must be freed before it is taken.
    await tx.update(plans).set({ stripePriceId: null });
    await tx.update(creditPacks).set({ stripePriceId: null });
    for (const [position, plan] of catalog.plans.entries()) {
      const values = {
        name: plan.name,
        description: plan.description ?? '',
        stripePriceId: plan.stripePriceId ?? null,
        monthlyCredits: plan.monthlyCredits,
        priceAmount: plan.price?.amount ?? null,
        currency: plan.price?.currency ?? null,
        interval: plan.price?.interval ?? 'month',
        limits: plan.limits ?? {},
        position,
        active: true,
        updatedAt: new Date(),
      };
      await tx
        .insert(plans)
        .values({ id: plan.id, ...values })
        .onConflictDoUpdate({ target: plans.id, set: values });
    }
    for (const [position, pack] of catalog.creditPacks.entries()) {
      const values = {
        name: pack.name,
        credits: pack.credits,
        stripePriceId: pack.stripePriceId ?? null,
        priceAmount: pack.price?.amount ?? null,
        currency: pack.price?.currency ?? null,
        position,
        active: true,
        updatedAt: new Date(),
      };
      await tx
        .insert(creditPacks)
        .values({ id: pack.id, ...values })
        .onConflictDoUpdate({ target: creditPacks.id, set: values });
    }
    const planIds = catalog.plans.map((plan) => plan.id);
    const packIds = catalog.creditPacks.map((pack) => pack.id);
    await tx.update(plans).set({ active: false }).where(notInArray(plans.id, planIds));
    if (packIds.length > 0)
      await tx.update(creditPacks).set({ active: false }).where(notInArray(creditPacks.id, packIds));
    else await tx.update(creditPacks).set({ active: false });
  });
}
