import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { publish } from '../realtime/publish.ts';
import { pruneEvents } from '../realtime/retention.ts';
import { pruneAuditTrail } from '../server/features/audit/retention.ts';
import { fanOut, tenantsBehind } from '../server/features/webhooks/fanout.ts';
import { pruneWebhookMessages } from '../server/features/webhooks/retention.ts';
import { createLogger } from '../server/logger.ts';
import { recordEntries, testAuditSigner } from '../server/testing/audit.ts';
import { testConfig } from '../server/testing/harness.ts';
import { type Database, openDatabase, selectRows } from './client.ts';
import {
  billingAccounts,
  eventRelayPositions,
  events,
  plans,
  tenants,
  webhookCursors,
  webhookEndpoints,
} from './schema/index.ts';
import { withTenant } from './tenant.ts';

// Managed Postgres rarely hands out a superuser: the owner may be a plain role with CREATEROLE (README).
// Row-level security is forced on the owner's own tables, so the few functions that run as the owner
// (SECURITY DEFINER) need policies of their own; a superuser would hide their absence.

const suffix = crypto.randomUUID().replaceAll('-', '').slice(0, 10);
const ownerRole = `wr_owner_${suffix}`;
const databaseName = `wrapper_owner_${suffix}`;

describe.skipIf(!testConfig.DATABASE_URL)('a non-superuser owner', () => {
  let admin: postgres.Sql;
  let database: Database;

  beforeAll(async () => {
    admin = postgres(testConfig.DATABASE_URL as string, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create role ${ownerRole} login createrole nosuperuser password 'owner-password'`);
    await admin.unsafe(`create database ${databaseName} owner ${ownerRole}`);
    const url = new URL(testConfig.DATABASE_URL as string);
    url.username = ownerRole;
    url.password = 'owner-password';
    url.pathname = `/${databaseName}`;
    database = await openDatabase({ url: url.toString(), dataDir: '', poolMax: 2 });
  });

  afterAll(async () => {
    await database?.close();
    await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
    await admin.unsafe(`drop role if exists ${ownerRole}`);
    await admin.end();
  });

  test('migrates, and its security-definer lookups see the rows they are for', async () => {
    const [role] = await selectRows<{ super: boolean }>(
      database.owner,
      sql`select rolsuper as super from pg_roles where rolname = current_user`,
    );
    expect(role?.super).toBe(false);
    const tenantId = Bun.randomUUIDv7();
    await database.owner
      .insert(plans)
      .values({ id: 'plan-a', name: 'A', monthlyCredits: 1 })
      .onConflictDoNothing();
    await withTenant(database, tenantId, async (db) => {
      await db.insert(tenants).values({ id: tenantId, name: 'Owner test', slug: `owner-${suffix}` });
      await db.insert(billingAccounts).values({
        tenantId,
        stripeCustomerId: `cus_${suffix}`,
        planId: 'plan-a',
        source: 'manual',
        status: 'active',
        currentPeriodStart: new Date(Date.now() - 40 * 86_400_000),
        currentPeriodEnd: new Date(Date.now() - 10 * 86_400_000),
      });
    });
    const asRequest = <Row extends Record<string, unknown>>(query: ReturnType<typeof sql>) =>
      database.transaction({ role: 'app_user' }, (db) => selectRows<Row>(db, query));
    const [found] = await asRequest<{ tenant_id: string }>(
      sql`select billing_tenant_of_customer(${`cus_${suffix}`}) as tenant_id`,
    );
    expect(found?.tenant_id).toBe(tenantId);
    const due = await asRequest<{ tenant_id: string }>(
      sql`select billing_manual_renewals_due(10) as tenant_id`,
    );
    expect(due.map((row) => row.tenant_id)).toEqual([tenantId]);
    // Pruning old relayed events (as the relay role, through the owner's function) reaches them too.
    await withTenant(database, tenantId, (db) =>
      publish(db, 'organization.deleted', {
        organization: { id: Bun.randomUUIDv7(), name: 'Gone', parentId: null },
      }),
    );
    await database.owner.insert(eventRelayPositions).values({ tenantId, relayedSeq: 1 });
    await database.owner.update(events).set({ occurredAt: new Date(Date.now() - 90 * 86_400_000) });
    expect(await pruneEvents({ database, retentionDays: 30 })).toBe(1);
    // And a request role still sees nothing of the tenant without its context.
    const [hidden] = await asRequest<{ count: string | number }>(sql`select count(*) from billing_accounts`);
    expect(Number(hidden?.count)).toBe(0);
  });

  test('the webhook sweep, claim, backlog and pruning (owner functions) see the rows they are for', async () => {
    const tenantId = Bun.randomUUIDv7();
    await withTenant(database, tenantId, async (db) => {
      await db
        .insert(tenants)
        .values({ id: tenantId, name: 'Hooks owner test', slug: `hooks-owner-${suffix}` });
      await db.insert(webhookEndpoints).values({
        tenantId,
        url: 'https://hooks.example.com/in',
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        afterSeq: 0,
      });
      await db.insert(webhookCursors).values({ tenantId, lastSeq: 0 });
      await publish(db, 'tenant.updated', {
        tenant: {
          id: tenantId,
          name: 'Hooks owner test',
          slug: `hooks-owner-${suffix}`,
          status: 'active',
          branding: { logoUrl: null, primaryColor: null, customDomain: null },
          createdAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        },
        changes: ['name'],
      });
    });
    expect(await tenantsBehind(database)).toContain(tenantId);
    expect((await fanOut(database, tenantId)).deliveries).toBe(1);
    const asRequest = <Row extends Record<string, unknown>>(query: ReturnType<typeof sql>) =>
      database.transaction({ role: 'app_user' }, (db) => selectRows<Row>(db, query));
    const claimed = await asRequest<{ tenant_id: string }>(
      sql`select * from webhook_deliveries_claim('owner-test', 10, 10)`,
    );
    expect(claimed.map((row) => row.tenant_id)).toEqual([tenantId]);
    const [backlog] = await asRequest<{ pending: string | number }>(
      sql`select * from webhook_delivery_backlog()`,
    );
    expect(Number(backlog?.pending)).toBe(1);
    await database.owner.execute(
      sql`update webhook_deliveries set status = 'succeeded' where tenant_id = ${tenantId}`,
    );
    await database.owner.execute(
      sql`update webhook_messages set created_at = now() - interval '90 days' where tenant_id = ${tenantId}`,
    );
    expect(await pruneWebhookMessages({ database, retentionDays: 30 })).toBe(1);
  });

  test('audit retention (app_audit, through prune_audit_entries as the owner) removes the entries it signed', async () => {
    const tenantId = Bun.randomUUIDv7();
    await withTenant(database, tenantId, (db) =>
      db.insert(tenants).values({ id: tenantId, name: 'Audit owner test', slug: `audit-owner-${suffix}` }),
    );
    await recordEntries(database, tenantId, 3);
    const pruned = await pruneAuditTrail({
      database,
      signer: testAuditSigner,
      logger: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
      retentionDays: 1,
      now: () => new Date(Date.now() + 2 * 86_400_000),
    });
    expect(pruned.map((item) => [item.tenantId, item.throughSeq, item.removed])).toEqual([[tenantId, 3, 3]]);
  });
});
