import { sql } from 'drizzle-orm';
import type { Database, DefinedStatement, ScopedDb, Statement } from './client.ts';

/**
 * The only door to tenant data: runs `fn` in one transaction as the non-owner role `app_user` with
 * `app.tenant_id` set, so row-level security limits every statement to that tenant, even one that
 * forgets its `where tenant_id = ...`.
 */
export function withTenant<T>(
  database: Database,
  tenantId: string,
  fn: (db: ScopedDb) => Promise<T>,
  options: { userId?: string } = {},
): Promise<T> {
  return database.transaction({ role: 'app_user', tenantId, userId: options.userId }, fn);
}

/**
 * `withTenant` for exactly one statement (a read, or a single insert/update/delete). On Postgres the
 * whole transaction costs one round trip; use it for the hot single-query paths.
 */
export function withTenantStatement<T>(
  database: Database,
  tenantId: string,
  build: (db: ScopedDb) => Statement<T>,
  options: { userId?: string } = {},
): Promise<T> {
  return database.statement({ role: 'app_user', tenantId, userId: options.userId }, build);
}

/** `withTenantStatement` for a statement made with `defineStatement`: its SQL is built once. */
export function runInTenant<Values extends Record<string, unknown>, Result>(
  database: Database,
  tenantId: string,
  statement: DefinedStatement<Values, Result>,
  values: Values,
  options: { userId?: string } = {},
): Promise<Result> {
  return database.run({ role: 'app_user', tenantId, userId: options.userId }, statement, values);
}

/**
 * The door for sign-up and sign-in, before a tenant is known: role `app_identity` may find people by
 * email and, with `userId` set, read that person's own memberships and tenants. Nothing else.
 */
export function withIdentity<T>(
  database: Database,
  fn: (db: ScopedDb) => Promise<T>,
  options: { userId?: string } = {},
): Promise<T> {
  return database.transaction({ role: 'app_identity', userId: options.userId }, fn);
}

/**
 * Sign-up only: inside a `withIdentity` transaction that has just created a person, continue as
 * `app_user` in the tenant being created, so the new tenant's rows pass its own RLS policies.
 */
export async function enterNewTenant(db: ScopedDb, ids: { tenantId: string; userId: string }): Promise<void> {
  await db.execute(
    sql`select set_config('role', 'app_user', true), set_config('app.tenant_id', ${ids.tenantId}, true), set_config('app.user_id', ${ids.userId}, true)`,
  );
}
