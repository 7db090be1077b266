import { sql } from 'drizzle-orm';
import type { Database, DefinedStatement, RequestContext, ScopedDb, Statement } from './client.ts';

/**
 * Who acts, for the access check that runs first in every request transaction: an active member of
 * the tenant, in a live session, holding `permission` (null: membership alone) tenant-wide or on
 * `organizationId` or one of its ancestors.
 */
export interface TenantActor {
  tenantId: string;
  userId: string;
  sessionId?: string;
  apiKeyId?: string;
  permission: string | null;
  organizationId?: string;
  /** When the credential ends by itself (an API key's expiry), in ms. */
  credentialExpiresAt?: number;
  /**
   * Set by every door below when it runs the access check for this actor (copies of the actor share it),
   * so the authentication macro can tell a route that never checked from one that did.
   */
  check?: AccessCheckRecord;
}

export interface AccessCheckRecord {
  ran: boolean;
  /**
   * This request's membership and credential (no permission, no organization) already passed, checked
   * ahead of the handler by `checkTenantAccess`: a door asking the same again skips it.
   */
  membershipPassed: boolean;
}

const asksMembershipOnly = (actor: TenantActor) => actor.permission === null && !actor.organizationId;

/** A tenant id alone (system work, seeds, tests) or an actor (requests: checked by Postgres first). */
export type TenantScope = string | TenantActor;

function requestContext(scope: TenantScope, options: { userId?: string }): RequestContext {
  if (typeof scope === 'string') return { role: 'app_user', tenantId: scope, userId: options.userId };
  if (scope.check) scope.check.ran = true;
  const checkedAlready = scope.check?.membershipPassed === true && asksMembershipOnly(scope);
  return {
    role: 'app_user',
    tenantId: scope.tenantId,
    userId: scope.userId,
    sessionId: scope.sessionId,
    apiKeyId: scope.apiKeyId,
    access: checkedAlready
      ? undefined
      : { permission: scope.permission, organizationId: scope.organizationId },
    credentialExpiresAt: scope.credentialExpiresAt,
  };
}

/**
 * The only door to tenant data: runs `fn` in one transaction as the non-owner role `app_user` with
 * `app.tenant_id` set, so row-level security limits every statement to that tenant, even one that
 * forgets its `where tenant_id = ...`. With an actor, `require_access` runs first: if it refuses,
 * Postgres runs none of `fn`'s statements.
 */
export function withTenant<T>(
  database: Database,
  scope: TenantScope,
  fn: (db: ScopedDb) => Promise<T>,
  options: { userId?: string } = {},
): Promise<T> {
  return database.transaction(requestContext(scope, options), fn);
}

/**
 * The access check alone, for a route that reaches no tenant data through a door with its actor: the
 * membership and the session or key must be live (and the permission held, when the actor names one).
 */
export async function checkTenantAccess(database: Database, actor: TenantActor): Promise<void> {
  const context = requestContext(actor, {});
  if (!context.access) return;
  await database.checkAccess(context);
  if (actor.check && asksMembershipOnly(actor)) actor.check.membershipPassed = true;
}

/**
 * `withTenant` for a change to who may do what in the tenant (roles, grants, membership, credentials,
 * the organization tree): once it commits, access checks remembered for the tenant stop counting, on
 * every node, before the change is reported done.
 */
export async function withTenantAccessChange<T>(
  database: Database,
  scope: TenantScope,
  fn: (db: ScopedDb) => Promise<T>,
  options: { userId?: string } = {},
): Promise<T> {
  const result = await withTenant(database, scope, fn, options);
  await database.invalidateAccess([typeof scope === 'string' ? scope : scope.tenantId]);
  return result;
}

/**
 * `withTenant` for exactly one statement (a read, or a single insert/update/delete). On Postgres the
 * whole transaction costs one round trip; use it for the hot single-query paths.
 */
export function withTenantStatement<T>(
  database: Database,
  scope: TenantScope,
  build: (db: ScopedDb) => Statement<T>,
  options: { userId?: string } = {},
): Promise<T> {
  return database.statement(requestContext(scope, options), build);
}

/** `withTenantStatement` for a statement made with `defineStatement`: its SQL is built once. */
export function runInTenant<Values extends Record<string, unknown>, Result>(
  database: Database,
  scope: TenantScope,
  statement: DefinedStatement<Values, Result>,
  values: Values,
  options: { userId?: string } = {},
): Promise<Result> {
  return database.run(requestContext(scope, options), statement, values);
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
 * Identity flows that make a person a member (sign-up, accepting an invitation): inside a `withIdentity`
 * transaction, continue as `app_user` in that tenant, so the rows written pass its own RLS policies.
 */
export async function continueInTenant(
  db: ScopedDb,
  ids: { tenantId: string; userId: string },
): Promise<void> {
  await db.execute(
    sql`select set_config('role', 'app_user', true), set_config('app.tenant_id', ${ids.tenantId}, true), set_config('app.user_id', ${ids.userId}, true)`,
  );
}

/**
 * The way back from `continueInTenant`: inside the same transaction, continue as `app_identity` for
 * `userId` (their own sessions, memberships and tenants), with no tenant.
 */
export async function continueAsIdentity(db: ScopedDb, userId: string): Promise<void> {
  await db.execute(
    sql`select set_config('role', 'app_identity', true), set_config('app.tenant_id', '', true), set_config('app.user_id', ${userId}, true)`,
  );
}

/**
 * Inside a request transaction, checks one more permission on another organization (e.g. the new
 * parent of a move). Raises like the check at the start of the transaction.
 */
export async function requireAccess(db: ScopedDb, permission: string, organizationId: string): Promise<void> {
  await db.execute(sql`select require_access(${permission}::text, ${organizationId}::uuid)`);
}

/**
 * The door for platform administration: role `app_admin`, whose policies admit only a person flagged
 * as platform admin in the database (`acting_platform_admin()`), across every tenant. With `tenantId`,
 * the transaction also acts in that tenant (credits, plan), as the tenant's own requests would.
 */
export function withPlatformAdmin<T>(
  database: Database,
  userId: string,
  fn: (db: ScopedDb) => Promise<T>,
  options: { tenantId?: string } = {},
): Promise<T> {
  return database.transaction({ role: 'app_admin', userId, tenantId: options.tenantId }, fn);
}
