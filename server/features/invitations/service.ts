import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { type Database, inOrder, type ScopedDb } from '../../../db/client.ts';
import { isUniqueViolation } from '../../../db/errors.ts';
import {
  type Invitation,
  invitations,
  memberships,
  organizations,
  roleAssignments,
  roles,
  tenants,
  users,
} from '../../../db/schema/index.ts';
import { continueAsIdentity, continueInTenant, withIdentity } from '../../../db/tenant.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError } from '../../errors.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../opaque-tokens.ts';
import { publishJoined, tenantWidePermissions } from '../access/service.ts';
import type { AuditContext } from '../audit/model.ts';
import { type AuditWho, changesOf, personWho, recordAudit, recordAuditAs, target } from '../audit/record.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import { requireWithinPlanLimit } from '../billing/limits.ts';
import {
  type IssuedSession,
  insertSession,
  type SessionClient,
  type SessionPolicy,
} from '../sessions/service.ts';
import type { InvitationModel, InvitationPreview } from './model.ts';

const TOKEN_PREFIX = 'inv_';

const newInvitationToken = () => newOpaqueToken(TOKEN_PREFIX);

const normalizeEmail = (email: string) => email.trim().toLowerCase();

const toInvitationDto = (invitation: Invitation): InvitationModel => ({
  id: invitation.id,
  email: invitation.email,
  roleIds: invitation.roleIds,
  organizationId: invitation.organizationId,
  invitedBy: invitation.invitedBy,
  expiresAt: invitation.expiresAt.toISOString(),
  createdAt: invitation.createdAt.toISOString(),
});

/** The roles must exist for the tenant, and the inviter must hold every permission they carry. */
async function checkGrantable(db: ScopedDb, inviterId: string, roleIds: string[]): Promise<void> {
  const found = await db
    .select({ id: roles.id, permissions: roles.permissions })
    .from(roles)
    .where(inArray(roles.id, roleIds));
  if (found.length !== roleIds.length) {
    throw new AppError('validation-failed', 'Some roles do not exist.', {
      errors: [{ path: '/roleIds', message: 'Unknown role id' }],
    });
  }
  const held = new Set<string>(await tenantWidePermissions(db, inviterId));
  const beyond = [...new Set(found.flatMap((role) => role.permissions))].filter(
    (permission) => !held.has(permission),
  );
  if (beyond.length > 0) {
    throw new AppError('forbidden', `You cannot grant permissions you do not hold: ${beyond.join(', ')}.`);
  }
}

export interface IssuedInvitation {
  invitation: InvitationModel;
  token: string;
  tenantName: string;
}

/** Invites a person by email; a pending invitation for the same email is replaced. */
export async function createInvitation(
  db: ScopedDb,
  input: {
    tenantId: string;
    invitedBy: string;
    email: string;
    roleIds: string[];
    organizationId?: string;
    ttlHours: number;
    who: AuditWho;
  },
): Promise<IssuedInvitation> {
  const email = normalizeEmail(input.email);
  await checkGrantable(db, input.invitedBy, input.roleIds);
  if (input.organizationId) {
    const [organization] = await db
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, input.organizationId));
    if (!organization) {
      throw new AppError('validation-failed', 'No such organization.', {
        errors: [{ path: '/organizationId', message: 'No organization with this id' }],
      });
    }
  }
  const [member] = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(sql`lower(${users.email}) = ${email}`);
  if (member) throw new AppError('already-member', `${email} is already a member.`);
  await requireWithinPlanLimit(db, input.tenantId, 'members', { exceptEmail: email });
  // A pending invitation for the same address is replaced: withdrawn, and said so.
  const replaced = await db
    .update(invitations)
    .set({ revokedAt: new Date() })
    .where(and(eq(invitations.email, email), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
    .returning({ id: invitations.id });
  for (const { id } of replaced) await publish(db, 'membership.invitation_revoked', { invitationId: id });
  const { token, hash } = newInvitationToken();
  const [invitation] = await db
    .insert(invitations)
    .values({
      tenantId: input.tenantId,
      email,
      roleIds: input.roleIds,
      organizationId: input.organizationId ?? null,
      tokenHash: hash,
      invitedBy: input.invitedBy,
      expiresAt: new Date(Date.now() + input.ttlHours * 3_600_000),
    })
    .returning();
  if (!invitation) throw new Error('insert returned no invitation');
  const [, , [tenant]] = await inOrder(
    () => publishInvited(db, invitation),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'invitation.created',
        targets: [target('invitation', invitation.id, invitation.email)],
        changes: changesOf(null, {
          email,
          roleIds: invitation.roleIds,
          organizationId: invitation.organizationId,
          expiresAt: invitation.expiresAt.toISOString(),
        }),
        metadata: replaced.length > 0 ? { replacedInvitationIds: replaced.map(({ id }) => id) } : {},
      }),
    () => db.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, input.tenantId)),
  );
  return { invitation: toInvitationDto(invitation), token, tenantName: tenant?.name ?? 'your team' };
}

function publishInvited(db: ScopedDb, invitation: Invitation) {
  return publish(db, 'membership.invited', {
    invitation: {
      id: invitation.id,
      email: invitation.email,
      roleIds: invitation.roleIds,
      organizationId: invitation.organizationId,
      expiresAt: invitation.expiresAt.toISOString(),
    },
  });
}

/** Pending invitations: not accepted, not withdrawn, not expired. */
export async function listInvitations(db: ScopedDb): Promise<InvitationModel[]> {
  const rows = await db
    .select()
    .from(invitations)
    .where(
      and(
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, sql`now()`),
      ),
    )
    .orderBy(desc(invitations.id))
    .limit(200);
  return rows.map(toInvitationDto);
}

export async function revokeInvitation(
  db: ScopedDb,
  input: { tenantId: string; id: string; who: AuditWho },
): Promise<void> {
  const { id } = input;
  const [revoked] = await db
    .update(invitations)
    .set({ revokedAt: new Date() })
    .where(and(eq(invitations.id, id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
    .returning({ id: invitations.id, email: invitations.email });
  if (!revoked) throw new AppError('not-found', 'No such pending invitation.');
  await inOrder(
    () => publish(db, 'membership.invitation_revoked', { invitationId: id }),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'invitation.revoked',
        targets: [target('invitation', revoked.id, revoked.email)],
      }),
  );
}

/** A new token and expiry for a pending invitation (the old link stops working). */
export async function renewInvitation(
  db: ScopedDb,
  input: { tenantId: string; id: string; ttlHours: number; who: AuditWho },
): Promise<IssuedInvitation> {
  const { token, hash } = newInvitationToken();
  const [invitation] = await db
    .update(invitations)
    .set({ tokenHash: hash, expiresAt: new Date(Date.now() + input.ttlHours * 3_600_000) })
    .where(and(eq(invitations.id, input.id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
    .returning();
  if (!invitation) throw new AppError('not-found', 'No such pending invitation.');
  const [, , [tenant]] = await inOrder(
    () => publishInvited(db, invitation),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'invitation.resent',
        targets: [target('invitation', invitation.id, invitation.email)],
        changes: {
          token: ['[redacted]', '[redacted]'],
          expiresAt: [null, invitation.expiresAt.toISOString()],
        },
      }),
    () => db.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, invitation.tenantId)),
  );
  return { invitation: toInvitationDto(invitation), token, tenantName: tenant?.name ?? 'your team' };
}

/**
 * What an invitation link is for, shown to whoever holds the token before they accept: the workspace,
 * the address it was sent to, and whether an account already exists for it (so the page can offer
 * "sign in" or "create an account"). The token is the authorisation; nothing else is revealed.
 */
export async function previewInvitation(database: Database, token: string): Promise<InvitationPreview> {
  if (!token.startsWith(TOKEN_PREFIX))
    throw new AppError('invitation-invalid', 'The invitation link is unknown; ask for a new one.');
  return withIdentity(database, async (db) => {
    const [invitation] = await db
      .select()
      .from(invitations)
      .where(eq(invitations.tokenHash, hashOpaqueToken(token)));
    if (!invitation)
      throw new AppError('invitation-invalid', 'The invitation link is unknown; ask for a new one.');
    if (invitation.revokedAt) throw new AppError('invitation-revoked');
    if (invitation.acceptedAt) throw new AppError('invitation-used');
    if (invitation.expiresAt <= new Date())
      throw new AppError('invitation-expired', 'Ask for a new invitation.');
    const [account] = await db
      .select({ id: users.id })
      .from(users)
      .where(sql`lower(${users.email}) = ${invitation.email}`);
    // The identity role may read a tenant only through its person's memberships, so the name is read as
    // the invited tenant itself.
    await continueInTenant(db, { tenantId: invitation.tenantId, userId: invitation.invitedBy });
    const [tenant] = await db
      .select({ name: tenants.name })
      .from(tenants)
      .where(eq(tenants.id, invitation.tenantId));
    return {
      tenantName: tenant?.name ?? 'the workspace',
      email: invitation.email,
      expiresAt: invitation.expiresAt.toISOString(),
      accountExists: account !== undefined,
    };
  });
}

/**
 * Accepts an invitation: as the signed-in person it was sent to, as an existing person with their
 * password, or as a new person (name and password). Joins them with the invited roles, all or nothing.
 */
export async function acceptInvitation(
  database: Database,
  input: {
    token: string;
    name?: string;
    password?: string;
    signedInUserId?: string;
    /** Who accepts, from where (for the audit entry). */
    context?: AuditContext;
    /** Start a session for the person in the same transaction (the accept route signs them in). */
    session?: { policy: SessionPolicy; client?: SessionClient };
  },
): Promise<{ userId: string; tenantId: string; name: string; session: IssuedSession | null }> {
  if (!input.token.startsWith(TOKEN_PREFIX))
    throw new AppError('invitation-invalid', 'The invitation link is unknown; ask for a new one.');
  const hash = hashOpaqueToken(input.token);
  // A new person's password is hashed before the transaction: argon2id is deliberately slow.
  const newPasswordHash = input.password ? await hashPassword(input.password) : null;
  try {
    return await withIdentity(database, async (db) => {
      const [invitation] = await db.select().from(invitations).where(eq(invitations.tokenHash, hash));
      if (!invitation)
        throw new AppError('invitation-invalid', 'The invitation link is unknown; ask for a new one.');
      if (invitation.revokedAt) throw new AppError('invitation-revoked');
      if (invitation.acceptedAt) throw new AppError('invitation-used');
      if (invitation.expiresAt <= new Date())
        throw new AppError('invitation-expired', 'Ask for a new invitation.');

      const [existing] = await db
        .select()
        .from(users)
        .where(sql`lower(${users.email}) = ${invitation.email}`);
      let userId: string;
      let name: string;
      if (input.signedInUserId) {
        if (existing?.id !== input.signedInUserId) {
          throw new AppError(
            'invitation-email-mismatch',
            `The invitation was sent to ${invitation.email}; sign in as that person.`,
          );
        }
        userId = existing.id;
        name = existing.name;
      } else if (existing) {
        const ok =
          input.password !== undefined &&
          existing.passwordHash !== null &&
          (await verifyPassword(input.password, existing.passwordHash));
        if (!ok)
          throw new AppError('invalid-credentials', 'Sign in, or give the password of the invited account.');
        userId = existing.id;
        name = existing.name;
      } else {
        if (!input.name?.trim() || !newPasswordHash) {
          throw new AppError('validation-failed', 'A new account needs a name and a password.', {
            errors: [
              ...(input.name?.trim() ? [] : [{ path: '/name', message: 'Required for a new account' }]),
              ...(newPasswordHash ? [] : [{ path: '/password', message: 'Required for a new account' }]),
            ],
          });
        }
        const [created] = await db
          .insert(users)
          .values({
            email: invitation.email,
            name: input.name.trim(),
            passwordHash: newPasswordHash,
            // Following the emailed link proves the address.
            emailVerifiedAt: new Date(),
          })
          .returning({ id: users.id });
        if (!created) throw new Error('insert returned no user');
        userId = created.id;
        name = input.name.trim();
      }

      // Spending the invitation is one conditional update: two concurrent accepts cannot both join.
      const spent = await db
        .update(invitations)
        .set({ acceptedAt: new Date(), acceptedBy: userId })
        .where(and(eq(invitations.id, invitation.id), isNull(invitations.acceptedAt)))
        .returning({ id: invitations.id });
      if (spent.length === 0) throw new AppError('invitation-used');

      await continueInTenant(db, { tenantId: invitation.tenantId, userId });
      const [already] = await db.select().from(memberships).where(eq(memberships.userId, userId));
      if (already) throw new AppError('already-member', 'You are already a member of this tenant.');
      await db.insert(memberships).values({ tenantId: invitation.tenantId, userId });
      await db.insert(roleAssignments).values(
        invitation.roleIds.map((roleId) => ({
          tenantId: invitation.tenantId,
          userId,
          roleId,
          organizationId: invitation.organizationId,
        })),
      );
      await publishJoined(db, {
        userId,
        roleIds: invitation.roleIds,
        organizationId: invitation.organizationId,
        invitationId: invitation.id,
      });
      const tenantId = invitation.tenantId;
      let session: IssuedSession | null = null;
      const startSession = input.session;
      if (startSession) {
        // The sign-in that comes with it, in the same transaction (back to the identity role for it).
        const [, started] = await inOrder(
          () => continueAsIdentity(db, userId),
          () => insertSession(db, { userId, tenantId, ...startSession }),
        );
        session = { ...started, userId, tenantId, name };
      }
      await recordAuditAs(db, { tenantId, userId }, personWho({ id: userId, name }, input.context), {
        action: 'invitation.accepted',
        targets: [
          target('invitation', invitation.id, invitation.email),
          target('user', userId, name),
          ...(session ? [target('session', session.sessionId)] : []),
        ],
        changes: changesOf(null, { roleIds: invitation.roleIds, organizationId: invitation.organizationId }),
      });
      return { userId, tenantId, name, session };
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw new AppError('already-member', 'You are already a member of this tenant.');
    throw error;
  }
}
