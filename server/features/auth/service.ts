import { and, asc, eq, sql } from 'drizzle-orm';
import { type Database, inOrder, type ScopedDb } from '../../../db/client.ts';
import { isUniqueViolation } from '../../../db/errors.ts';
import { memberships, type Tenant, tenants, type User, users } from '../../../db/schema/index.ts';
import { continueAsIdentity, continueInTenant, withIdentity, withTenant } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import type { Actor } from '../../plugins/authentication.ts';
import { addMember, tenantWidePermissions, tenantWideRoleKeys } from '../access/service.ts';
import type { AuditContext } from '../audit/model.ts';
import { personWho, recordAuditAs, recordForPerson, target } from '../audit/record.ts';
import type { OrganizationModel } from '../organizations/model.ts';
import { createOrganization } from '../organizations/service.ts';
import {
  type IssuedSession,
  insertSession,
  type SessionClient,
  type SessionPolicy,
} from '../sessions/service.ts';
import type {
  LoginBody,
  MeResponse,
  SignupBody,
  TenantChoiceModel,
  TenantModel,
  UserModel,
} from './model.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

export const toUserDto = (user: User): UserModel => ({
  id: user.id,
  email: user.email,
  name: user.name,
  emailVerified: user.emailVerifiedAt !== null,
  createdAt: user.createdAt.toISOString(),
});
export const toTenantDto = (tenant: Tenant): TenantModel => ({
  id: tenant.id,
  name: tenant.name,
  slug: tenant.slug,
  createdAt: tenant.createdAt.toISOString(),
});

const normalizeEmail = (email: string) => email.trim().toLowerCase();

function slugFor(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${base || 'tenant'}-${crypto.randomUUID().slice(0, 8)}`;
}

// Hashing a password for an unknown email too keeps sign-in time from revealing which emails exist.
const unknownUserHash = hashPassword(crypto.randomUUID());

/**
 * Creates a tenant with its root organization and makes `user` its owner, inside the caller's identity
 * transaction (sign-up, or a first sign-in through a provider).
 */
export async function createWorkspace(
  db: ScopedDb,
  input: { user: User; name: string },
): Promise<{ tenant: TenantModel; organization: OrganizationModel }> {
  const tenantId = Bun.randomUUIDv7();
  await continueInTenant(db, { tenantId, userId: input.user.id });
  const [tenant] = await db
    .insert(tenants)
    .values({ id: tenantId, name: input.name.trim(), slug: slugFor(input.name) })
    .returning();
  if (!tenant) throw new Error('insert returned no tenant');
  await addMember(db, { tenantId, userId: input.user.id, role: 'owner' });
  const organization = await createOrganization(db, { tenantId, name: input.name });
  return { tenant: toTenantDto(tenant), organization };
}

/**
 * Creates a person, their tenant, its root organization, their owner membership and their first
 * session, all or nothing, with one audit entry (`user.signed_up`) in the new tenant.
 */
export async function signUp(
  database: Database,
  input: SignupBody,
  options: { policy: SessionPolicy; client?: SessionClient; context: AuditContext },
): Promise<{
  user: UserModel;
  tenant: TenantModel;
  organization: OrganizationModel;
  session: IssuedSession;
}> {
  const passwordHash = await hashPassword(input.password);
  try {
    return await withIdentity(database, async (db) => {
      const [user] = await db
        .insert(users)
        .values({ email: normalizeEmail(input.email), name: input.name.trim(), passwordHash })
        .returning();
      if (!user) throw new Error('insert returned no user');
      const workspace = await createWorkspace(db, { user, name: input.organizationName });
      const tenantId = workspace.tenant.id;
      // Back to the identity role for the session (pipelined with its first insert).
      const [, session] = await inOrder(
        () => continueAsIdentity(db, user.id),
        () =>
          insertSession(db, { userId: user.id, tenantId, policy: options.policy, client: options.client }),
      );
      await recordAuditAs(db, { tenantId, userId: user.id }, personWho(user, options.context), {
        action: 'user.signed_up',
        targets: [
          target('user', user.id, user.name),
          target('tenant', tenantId, workspace.tenant.name),
          target('session', session.sessionId),
        ],
      });
      return {
        user: toUserDto(user),
        ...workspace,
        session: { ...session, userId: user.id, tenantId, name: user.name },
      };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('email-taken', 'Sign in instead, or use another email.');
    throw error;
  }
}

export async function activeTenantsOf(database: Database, userId: string): Promise<TenantChoiceModel[]> {
  return withIdentity(
    database,
    async (db) => {
      const rows = await db
        .select({ id: tenants.id, name: tenants.name, slug: tenants.slug })
        .from(memberships)
        .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
        .where(
          and(eq(memberships.userId, userId), eq(memberships.status, 'active'), eq(tenants.status, 'active')),
        )
        .orderBy(asc(memberships.createdAt));
      const roleKeys = await tenantWideRoleKeys(db, userId);
      return rows.map((row) => {
        const roles = roleKeys.get(row.id) ?? [];
        return { ...row, role: roles[0] ?? null, roles };
      });
    },
    { userId },
  );
}

/** Checks email and password; picks the requested tenant or the user's first one. */
export async function signIn(
  database: Database,
  input: LoginBody,
  context: AuditContext,
): Promise<{ user: UserModel; tenantId: string; tenants: TenantChoiceModel[] }> {
  const [user] = await withIdentity(database, (db) =>
    db
      .select()
      .from(users)
      .where(sql`lower(${users.email}) = ${normalizeEmail(input.email)}`),
  );
  const passwordOk = await verifyPassword(input.password, user?.passwordHash ?? (await unknownUserHash));
  if (!user?.passwordHash || !passwordOk) {
    // Recorded in each tenant where the account is an active member; an unknown email records nothing
    // (there is no tenant to record it in). The caller is anonymous: the account is the target.
    if (user) {
      await withIdentity(database, (db) =>
        recordForPerson(db, user.id, personWho({ id: null, name: null }, context), {
          action: 'session.sign_in_failed',
          targets: [target('user', user.id, user.name)],
          metadata: { method: 'password', reason: user.passwordHash ? 'wrong-password' : 'no-password' },
          outcome: 'failure',
        }),
      );
    }
    throw new AppError('invalid-credentials', 'The email or the password is wrong.');
  }
  return { user: toUserDto(user), ...(await chooseTenant(database, user.id, input.tenantId)) };
}

/** The tenant a sign-in lands in: the requested one if the person is active there, else their first. */
export async function chooseTenant(
  database: Database,
  userId: string,
  requested?: string,
): Promise<{ tenantId: string; tenants: TenantChoiceModel[] }> {
  const choices = await activeTenantsOf(database, userId);
  const chosen = requested ? choices.find((choice) => choice.id === requested) : choices[0];
  if (!chosen) {
    throw new AppError(
      'forbidden',
      requested ? 'You are not an active member of that tenant.' : 'You have no active tenant.',
    );
  }
  return { tenantId: chosen.id, tenants: choices };
}

/** A person, as the API shows them. */
export async function describeUser(database: Database, userId: string): Promise<UserModel> {
  const [user] = await withIdentity(database, (db) => db.select().from(users).where(eq(users.id, userId)));
  if (!user) throw new AppError('unauthorized', 'The account is gone.');
  return toUserDto(user);
}

/** A tenant the person belongs to, as the API shows it. */
export async function describeTenant(
  database: Database,
  input: { userId: string; tenantId: string },
): Promise<TenantModel> {
  const [tenant] = await withIdentity(
    database,
    (db) => db.select().from(tenants).where(eq(tenants.id, input.tenantId)),
    { userId: input.userId },
  );
  if (!tenant) throw new AppError('not-found', 'No such tenant.');
  return toTenantDto(tenant);
}

/** The caller, their tenant, every tenant they belong to, and what they may do in this one. */
export async function describeActor(database: Database, actor: Actor): Promise<MeResponse> {
  const current = await withTenant(database, actor, async (db) => {
    const [user] = await db.select().from(users).where(eq(users.id, actor.userId));
    const [tenant] = await db.select().from(tenants).where(eq(tenants.id, actor.tenantId));
    const roleKeys = (await tenantWideRoleKeys(db, actor.userId)).get(actor.tenantId) ?? [];
    const permissions = await tenantWidePermissions(db, actor.userId);
    return { user, tenant, roleKeys, permissions };
  });
  if (!current.user || !current.tenant)
    throw new AppError('unauthorized', 'The account behind this token is gone.');
  const all = await activeTenantsOf(database, actor.userId);
  return {
    user: toUserDto(current.user),
    tenant: toTenantDto(current.tenant),
    memberships: all.map((choice) => ({
      tenantId: choice.id,
      tenantName: choice.name,
      tenantSlug: choice.slug,
      role: choice.role,
      roles: choice.roles,
    })),
    roles: current.roleKeys,
    permissions: current.permissions,
    platformAdmin: actor.apiKeyId === undefined && current.user.isPlatformAdmin,
  };
}
