import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { isUniqueViolation } from '../../../db/errors.ts';
import { memberships, sessions, userIdentities, users, userTokens } from '../../../db/schema/index.ts';
import { withIdentity } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../opaque-tokens.ts';
import type { AuditContext } from '../audit/model.ts';
import { personWho, recordAuditAs, target } from '../audit/record.ts';
import { activeTenantsOf, createWorkspace } from '../auth/service.ts';
import { acceptInvitation } from '../invitations/service.ts';
import type { OidcPerson } from './flow.ts';

export interface LinkedPerson {
  userId: string;
  /** How the account was found: by an earlier link, by its verified email, or newly created. */
  via: 'identity' | 'email' | 'created';
}

async function linkOnce(database: Database, person: OidcPerson): Promise<LinkedPerson> {
  const endedIn: string[] = [];
  const linked = await withIdentity(database, async (db) => {
    const [linked] = await db
      .update(userIdentities)
      .set({ lastSignInAt: new Date(), email: person.email })
      .where(and(eq(userIdentities.provider, person.provider), eq(userIdentities.subject, person.subject)))
      .returning({ userId: userIdentities.userId });
    if (linked) return { userId: linked.userId, via: 'identity' as const };

    // A first sign-in through this provider: the account is found (or made) by email, and only an
    // address the provider has verified may claim one.
    if (!person.email || !person.emailVerified) {
      throw new AppError(
        'oidc-email-unverified',
        'Confirm your email address with the provider first, or sign in with your password.',
      );
    }
    const [existing] = await db
      .select({ id: users.id, verifiedAt: users.emailVerifiedAt })
      .from(users)
      .where(sql`lower(${users.email}) = ${person.email}`);
    let userId: string;
    let via: LinkedPerson['via'];
    if (existing) {
      userId = existing.id;
      via = 'email';
      if (!existing.verifiedAt) {
        // Whoever registered this unconfirmed address never proved it; the provider just did. Their
        // password and sessions end, so an account set up in advance by someone else cannot be used.
        await db
          .update(users)
          .set({ emailVerifiedAt: new Date(), passwordHash: null, updatedAt: new Date() })
          .where(eq(users.id, userId));
        const ended = await db
          .update(sessions)
          .set({ revokedAt: new Date(), revokedReason: 'revoked' })
          .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
          .returning({ tenantId: sessions.tenantId });
        endedIn.push(...ended.map((session) => session.tenantId));
      }
    } else {
      const [created] = await db
        .insert(users)
        .values({
          email: person.email,
          name: person.name ?? person.email.split('@')[0] ?? person.email,
          passwordHash: null,
          emailVerifiedAt: new Date(),
        })
        .returning({ id: users.id });
      if (!created) throw new Error('insert returned no user');
      userId = created.id;
      via = 'created';
    }
    await db.insert(userIdentities).values({
      userId,
      provider: person.provider,
      subject: person.subject,
      email: person.email,
    });
    return { userId, via };
  });
  await database.invalidateAccess(endedIn);
  return linked;
}

/**
 * Finds the Wrapper account of a person a provider signed in: by the provider's subject when linked
 * before, otherwise by the verified email (linking it), otherwise a new account. Two first sign-ins at
 * once end with one account and one link.
 */
export async function linkPerson(database: Database, person: OidcPerson): Promise<LinkedPerson> {
  try {
    return await linkOnce(database, person);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return linkOnce(database, person);
  }
}

/**
 * The tenant a provider sign-in lands in: the invitation's (accepted now), else the requested tenant,
 * else the person's first. Someone with no tenant at all (a new account) gets a workspace of their own.
 */
export async function landingTenant(
  database: Database,
  input: { userId: string; invitation?: string; tenantId?: string; context?: AuditContext },
): Promise<string> {
  if (input.invitation) {
    const accepted = await acceptInvitation(database, {
      token: input.invitation,
      signedInUserId: input.userId,
      context: input.context,
    });
    return accepted.tenantId;
  }
  const choices = await activeTenantsOf(database, input.userId);
  const chosen = choices.find((choice) => choice.id === input.tenantId) ?? choices[0];
  if (chosen) return chosen.id;
  return withIdentity(
    database,
    async (db) => {
      // Two first sign-ins of one person at once must not make two workspaces: the second waits here,
      // then finds the first one's.
      await db.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`workspace:${input.userId}`}, 0))`,
      );
      const [membership] = await db
        .select({ tenantId: memberships.tenantId, status: memberships.status })
        .from(memberships)
        .where(eq(memberships.userId, input.userId))
        .orderBy(memberships.createdAt)
        .limit(1);
      if (membership?.status === 'active') return membership.tenantId;
      if (membership) throw new AppError('forbidden', 'You have no active tenant.');
      const [user] = await db.select().from(users).where(eq(users.id, input.userId));
      if (!user) throw new AppError('unauthorized', 'The account is gone.');
      const firstName = user.name.split(/\s+/)[0] || user.name;
      const { tenant } = await createWorkspace(db, { user, name: `${firstName}'s workspace` });
      await recordAuditAs(db, { tenantId: tenant.id, userId: user.id }, personWho(user, input.context), {
        action: 'user.signed_up',
        targets: [target('user', user.id, user.name), target('tenant', tenant.id, tenant.name)],
        metadata: { method: 'oidc' },
      });
      return tenant.id;
    },
    { userId: input.userId },
  );
}

const SIGN_IN_CODE_PREFIX = 'si_';
const SIGN_IN_CODE_TTL_MS = 2 * 60_000;

/**
 * A short-lived, single-use code that hands a finished provider sign-in to the app, which trades it for
 * tokens (`POST /v1/auth/oidc/exchange`): tokens never travel in a URL.
 */
export async function issueSignInCode(database: Database, userId: string): Promise<string> {
  const { token, hash } = newOpaqueToken(SIGN_IN_CODE_PREFIX);
  await withIdentity(database, (db) =>
    db.insert(userTokens).values({
      userId,
      purpose: 'sign-in',
      tokenHash: hash,
      expiresAt: new Date(Date.now() + SIGN_IN_CODE_TTL_MS),
    }),
  );
  return token;
}

/** Spends a sign-in code (one conditional update: it works once, even under races); answers its person. */
export async function spendSignInCode(database: Database, code: string): Promise<string> {
  const invalid = () => new AppError('unauthorized', 'The sign-in code is invalid, expired or already used.');
  if (!code.startsWith(SIGN_IN_CODE_PREFIX)) throw invalid();
  const [spent] = await withIdentity(database, (db) =>
    db
      .update(userTokens)
      .set({ usedAt: new Date() })
      .where(
        and(
          eq(userTokens.tokenHash, hashOpaqueToken(code)),
          eq(userTokens.purpose, 'sign-in'),
          isNull(userTokens.usedAt),
          gt(userTokens.expiresAt, sql`now()`),
        ),
      )
      .returning({ userId: userTokens.userId }),
  );
  if (!spent) throw invalid();
  return spent.userId;
}
