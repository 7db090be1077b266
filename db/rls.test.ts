import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import { addMember } from '../server/features/access/service.ts';
import { openTestDatabase, type TestDatabase } from '../server/testing/harness.ts';
import { defineStatement, selectRows } from './client.ts';
import { sqlStateOf } from './errors.ts';
import { memberships, organizations, tenants, users } from './schema/index.ts';
import { runInTenant, withTenant, withTenantStatement } from './tenant.ts';

let testDb: TestDatabase;
const tenantA = Bun.randomUUIDv7();
const tenantB = Bun.randomUUIDv7();
const userA = Bun.randomUUIDv7();
const userB = Bun.randomUUIDv7();

beforeAll(async () => {
  testDb = await openTestDatabase();
  const { database } = testDb;
  // Seed through the identity role and then each tenant's own context, as the product does.
  await database.transaction({ role: 'app_identity' }, async (db) => {
    await db.insert(users).values([
      { id: userA, email: `a-${userA}@example.test`, name: 'A' },
      { id: userB, email: `b-${userB}@example.test`, name: 'B' },
    ]);
  });
  for (const [tenantId, userId] of [
    [tenantA, userA],
    [tenantB, userB],
  ] as const) {
    await withTenant(database, tenantId, async (db) => {
      await db.insert(tenants).values({ id: tenantId, name: tenantId, slug: `slug-${tenantId}` });
      await addMember(db, { tenantId, userId, role: 'owner' });
      await db.insert(organizations).values([
        { tenantId, name: 'root' },
        { tenantId, name: 'second' },
      ]);
    });
  }
});

afterAll(() => testDb.dispose());

describe('row-level security', () => {
  test('every table with tenant_id, and tenants itself, has RLS enabled and forced', async () => {
    const rows = await selectRows<{ table: string; enabled: boolean; forced: boolean }>(
      testDb.database.owner,
      sql`select c.relname as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r'
            and (c.relname = 'tenants' or exists (
              select 1 from information_schema.columns col
              where col.table_schema = 'public' and col.table_name = c.relname and col.column_name = 'tenant_id'))
          order by 1`,
    );
    expect(rows.map((row) => row.table)).toEqual(
      expect.arrayContaining(['memberships', 'organizations', 'tenants']),
    );
    for (const row of rows)
      expect({ table: row.table, enabled: row.enabled, forced: row.forced }).toEqual({
        table: row.table,
        enabled: true,
        forced: true,
      });
  });

  test('every column a policy filters on is the leading column of an index', async () => {
    const rows = await selectRows<{ table: string; indexed: boolean }>(
      testDb.database.owner,
      sql`select c.relname as table,
            exists (select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                    where i.indrelid = c.oid and a.attname = 'tenant_id') as indexed
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' and exists (
            select 1 from information_schema.columns col
            where col.table_schema = 'public' and col.table_name = c.relname and col.column_name = 'tenant_id')`,
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toEqual({ table: row.table, indexed: true });
  });

  test('a raw query without a tenant filter inside withTenant sees only that tenant', async () => {
    const seen = await withTenant(testDb.database, tenantA, async (db) => ({
      organizations: await selectRows<{ tenant_id: string }>(db, sql`select tenant_id from organizations`),
      memberships: await selectRows<{ tenant_id: string }>(db, sql`select tenant_id from memberships`),
      tenants: await selectRows<{ id: string }>(db, sql`select id from tenants`),
      users: await selectRows<{ id: string }>(db, sql`select id from users`),
    }));
    expect(seen.organizations).toHaveLength(2);
    expect(new Set(seen.organizations.map((row) => row.tenant_id))).toEqual(new Set([tenantA]));
    expect(seen.memberships.map((row) => row.tenant_id)).toEqual([tenantA]);
    expect(seen.tenants.map((row) => row.id)).toEqual([tenantA]);
    expect(seen.users.map((row) => row.id)).toEqual([userA]);
  });

  test('with no tenant set, a request role sees nothing (fails closed)', async () => {
    const counts = await testDb.database.transaction({ role: 'app_user' }, async (db) =>
      selectRows<{ organizations: number; memberships: number; tenants: number; users: number }>(
        db,
        sql`select (select count(*) from organizations)::int as organizations,
                   (select count(*) from memberships)::int as memberships,
                   (select count(*) from tenants)::int as tenants,
                   (select count(*) from users)::int as users`,
      ),
    );
    expect(counts[0]).toEqual({ organizations: 0, memberships: 0, tenants: 0, users: 0 });
  });

  test('an empty tenant setting is the same as none', async () => {
    const rows = await testDb.database.transaction({ role: 'app_user', tenantId: undefined }, (db) =>
      db.select().from(organizations),
    );
    expect(rows).toEqual([]);
  });

  test("writing a row into another tenant is refused by the policy's WITH CHECK", async () => {
    await expect(
      withTenant(testDb.database, tenantA, (db) =>
        db.insert(organizations).values({ tenantId: tenantB, name: 'x' }),
      ),
    ).rejects.toThrow();
    const countB = await withTenant(testDb.database, tenantB, (db) => db.select().from(organizations));
    expect(countB).toHaveLength(2);
  });

  test("updating or deleting another tenant's rows touches nothing", async () => {
    const changed = await withTenant(testDb.database, tenantA, async (db) => ({
      updated: await db
        .update(organizations)
        .set({ name: 'hijacked' })
        .where(sql`tenant_id = ${tenantB}`)
        .returning(),
      deleted: await db.delete(memberships).where(sql`tenant_id = ${tenantB}`).returning(),
    }));
    expect(changed).toEqual({ updated: [], deleted: [] });
    const rowsB = await withTenant(testDb.database, tenantB, (db) => db.select().from(organizations));
    expect(rowsB.map((row) => row.name).sort()).toEqual(['root', 'second']);
  });

  test('the database refuses a parent organization from another tenant', async () => {
    const [orgOfB] = await withTenant(testDb.database, tenantB, (db) =>
      db.select().from(organizations).limit(1),
    );
    await expect(
      withTenant(testDb.database, tenantA, (db) =>
        db.insert(organizations).values({ tenantId: tenantA, name: 'child', parentId: orgOfB?.id }),
      ),
    ).rejects.toThrow();
  });

  test('the identity role cannot read tenant data it was not given', async () => {
    const denied = await testDb.database
      .transaction({ role: 'app_identity', userId: userA }, (db) => db.select().from(organizations))
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(sqlStateOf(denied)).toBe('42501'); // insufficient_privilege
    const own = await testDb.database.transaction({ role: 'app_identity', userId: userA }, (db) =>
      db.select().from(memberships),
    );
    expect(own.map((row) => row.tenantId)).toEqual([tenantA]);
  });

  test('request contexts reject ids that are not UUIDs', async () => {
    await expect(withTenant(testDb.database, "x' or 1=1 --", async () => 1)).rejects.toThrow(/UUID/);
  });

  test('a single-statement transaction is held to the same tenant', async () => {
    const rows = await withTenantStatement(testDb.database, tenantA, (db) => db.select().from(organizations));
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((row) => row.tenantId))).toEqual(new Set([tenantA]));
    const none = await testDb.database.statement({ role: 'app_user' }, (db) =>
      db.select().from(organizations),
    );
    expect(none).toEqual([]);
  });

  test('a single statement that fails changes nothing and the connection stays usable', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(
        withTenantStatement(testDb.database, tenantA, (db) =>
          db.insert(organizations).values({ tenantId: tenantB, name: 'smuggled' }),
        ),
      ).rejects.toThrow();
    }
    const inserted = await withTenantStatement(testDb.database, tenantA, (db) =>
      db.insert(organizations).values({ tenantId: tenantA, name: 'third' }).returning(),
    );
    expect(inserted.map((row) => row.name)).toEqual(['third']);
    const names = await withTenantStatement(testDb.database, tenantA, (db) =>
      db.select({ name: organizations.name }).from(organizations),
    );
    expect(names.map((row) => row.name).sort()).toEqual(['root', 'second', 'third']);
    const ofB = await withTenant(testDb.database, tenantB, (db) => db.select().from(organizations));
    expect(ofB.map((row) => row.name).sort()).toEqual(['root', 'second']);
  });

  test('many concurrent single statements of two tenants never mix', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, index) => {
        const tenantId = index % 2 === 0 ? tenantA : tenantB;
        return withTenantStatement(testDb.database, tenantId, (db) => db.select().from(organizations)).then(
          (rows) => ({ tenantId, seen: new Set(rows.map((row) => row.tenantId)) }),
        );
      }),
    );
    for (const { tenantId, seen } of results) expect(seen).toEqual(new Set([tenantId]));
  });

  const organizationsNamed = defineStatement<{ name: string }, Array<{ tenantId: string; name: string }>>(
    'test_organizations_named',
    (db) =>
      db
        .select({ tenantId: organizations.tenantId, name: organizations.name })
        .from(organizations)
        .where(eq(organizations.name, sql.placeholder('name'))),
  );

  test('a defined statement is held to the tenant, and sees nothing without one', async () => {
    const rows = await runInTenant(testDb.database, tenantB, organizationsNamed, { name: 'root' });
    expect(rows).toEqual([{ tenantId: tenantB, name: 'root' }]);
    const none = await testDb.database.run({ role: 'app_user' }, organizationsNamed, { name: 'root' });
    expect(none).toEqual([]);
  });

  test('one defined statement, run concurrently for two tenants on many connections, never mixes them', async () => {
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, index) => {
        const tenantId = index % 2 === 0 ? tenantA : tenantB;
        const name = index % 3 === 0 ? 'root' : 'second';
        return runInTenant(testDb.database, tenantId, organizationsNamed, { name }).then((rows) => ({
          tenantId,
          name,
          rows,
        }));
      }),
    );
    for (const { tenantId, name, rows } of results) expect(rows).toEqual([{ tenantId, name }]);
  });
});
