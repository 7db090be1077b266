import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { sessions, users, userTokens } from '../../../db/schema/index.ts';
import { withIdentity } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../opaque-tokens.ts';
import type { AuditAction } from '../audit/catalog.ts';
import type { AuditContext } from '../audit/model.ts';
import { type AuditWho, personWho, recordAuditAs, recordForPerson, target } from '../audit/record.ts';
import { hashPassword } from '../auth/passwords.ts';

export type EmailTokenPurpose = 'verify-email' | 'reset-password';

const PREFIX: Record<EmailTokenPurpose, string> = { 'verify-email': 'ev_', 'reset-password': 'pr_' };
const LIFETIME_MS: Record<EmailTokenPurpose, number> = {
  'verify-email': 7 * 24 * 3_600_000,
  'reset-password': 3_600_000,
};

const hashToken = hashOpaqueToken;

const linkInvalid = () =>
  new AppError('bad-request', 'The link is invalid, expired or already used; ask for a new one.');

/**
 * Issues a single-use emailed token for a person found by id or email; earlier unused tokens of the
 * same purpose stop working. Answers null when there is no such person (the caller must not say so).
 */
export async function issueEmailToken(
  database: Database,
  input: {
    purpose: EmailTokenPurpose;
    userId?: string;
    email?: string;
    /**
     * Record it: in the signed-in caller's tenant (`who` with `tenantId`), or, for an anonymous
     * request, in each tenant where the person is an active member.
     */
    audit?: { who: AuditWho; tenantId?: string };
  },
): Promise<{ token: string; email: string; name: string } | null> {
  return withIdentity(database, async (db) => {
    const [user] = await db
      .select({ id: users.id, email: users.email, name: users.name, verifiedAt: users.emailVerifiedAt })
      .from(users)
      .where(
        input.userId
          ? eq(users.id, input.userId)
          : sql`lower(${users.email}) = ${input.email?.trim().toLowerCase() ?? ''}`,
      );
    if (!user) return null;
    if (input.purpose === 'verify-email' && user.verifiedAt) return null;
    await db
      .update(userTokens)
      .set({ usedAt: new Date() })
      .where(
        and(eq(userTokens.userId, user.id), eq(userTokens.purpose, input.purpose), isNull(userTokens.usedAt)),
      );
    const { token, hash } = newOpaqueToken(PREFIX[input.purpose]);
    await db.insert(userTokens).values({
      userId: user.id,
      purpose: input.purpose,
      tokenHash: hash,
      expiresAt: new Date(Date.now() + LIFETIME_MS[input.purpose]),
    });
    if (input.audit) {
      const action: AuditAction =
        input.purpose === 'verify-email' ? 'user.email_verification_sent' : 'user.password_reset_requested';
      const record = { action, targets: [target('user', user.id, user.name)] };
      if (input.audit.tenantId) {
        await recordAuditAs(db, { tenantId: input.audit.tenantId, userId: user.id }, input.audit.who, record);
      } else {
        await recordForPerson(db, user.id, input.audit.who, record);
      }
    }
    return { token, email: user.email, name: user.name };
  });
}

/** Spends a token of `purpose` (one conditional update: a token works once, even under races). */
async function spendToken(
  db: Parameters<Parameters<typeof withIdentity>[1]>[0],
  purpose: EmailTokenPurpose,
  token: string,
): Promise<string> {
  if (!token.startsWith(PREFIX[purpose])) throw linkInvalid();
  const [spent] = await db
    .update(userTokens)
    .set({ usedAt: new Date() })
    .where(
      and(
        eq(userTokens.tokenHash, hashToken(token)),
        eq(userTokens.purpose, purpose),
        isNull(userTokens.usedAt),
        gt(userTokens.expiresAt, sql`now()`),
      ),
    )
    .returning({ userId: userTokens.userId });
  if (!spent) throw linkInvalid();
  return spent.userId;
}

export async function verifyEmail(database: Database, token: string, context: AuditContext): Promise<void> {
  await withIdentity(database, async (db) => {
    const userId = await spendToken(db, 'verify-email', token);
    const [user] = await db
      .update(users)
      .set({ emailVerifiedAt: new Date(), updatedAt: new Date() })
      .where(eq(users.id, userId))
      .returning({ name: users.name });
    const name = user?.name ?? null;
    // A person-level event: recorded in each tenant where they are an active member.
    await recordForPerson(db, userId, personWho({ id: userId, name }, context), {
      action: 'user.email_verified',
      targets: [target('user', userId, name)],
    });
  });
}

/**
 * Sets a new password from a reset link. The link proves the address, so it is marked verified; every
 * session of the person ends (whoever knew the old password is signed out).
 */
export async function resetPassword(
  database: Database,
  input: { token: string; password: string; context: AuditContext },
): Promise<void> {
  const passwordHash = await hashPassword(input.password);
  const ended = await withIdentity(database, async (db) => {
    const userId = await spendToken(db, 'reset-password', input.token);
    const [user] = await db
      .update(users)
      .set({
        passwordHash,
        emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`,
        updatedAt: new Date(),
      })
      .where(eq(users.id, userId))
      .returning({ name: users.name });
    const ended = await db
      .update(sessions)
      .set({ revokedAt: new Date(), revokedReason: 'revoked' })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
      .returning({ tenantId: sessions.tenantId });
    const name = user?.name ?? null;
    // The link proved who they are; the entry says the password changed, never what to.
    await recordForPerson(db, userId, personWho({ id: userId, name }, input.context), {
      action: 'user.password_reset',
      targets: [target('user', userId, name)],
      changes: { password: ['[redacted]', '[redacted]'] },
      metadata: { sessionsEnded: ended.length },
    });
    return ended;
  });
  await database.invalidateAccess(ended.map((session) => session.tenantId));
}
