import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database, ScopedDb } from '../../../db/client.ts';
import { memberships, refreshTokens, sessions, tenants, users } from '../../../db/schema/index.ts';
import { withIdentity } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../opaque-tokens.ts';
import type { AuditAction } from '../audit/catalog.ts';
import type { AuditContext } from '../audit/model.ts';
import { type AuditWho, personWho, recordAuditAs, target } from '../audit/record.ts';
import type { SessionModel } from './model.ts';

export interface SessionPolicy {
  /** A refresh token not used for this long expires (idle timeout). */
  refreshTtlSeconds: number;
  /** A session ends this long after sign-in, however active (absolute timeout). */
  maxAgeSeconds: number;
}

export interface SessionClient {
  userAgent?: string | null;
  ipAddress?: string | null;
}

export interface IssuedSession {
  sessionId: string;
  userId: string;
  tenantId: string;
  refreshToken: string;
  /** The person's name, carried in the access token (the actor name of their audit entries). */
  name?: string;
}

const REFRESH_TOKEN_PREFIX = 'rt_';

const newRefreshToken = () => newOpaqueToken(REFRESH_TOKEN_PREFIX);

const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000);

const invalidRefreshToken = () =>
  new AppError('unauthorized', 'The refresh token is invalid, expired or revoked; sign in again.');

async function issueRefreshToken(
  db: ScopedDb,
  sessionId: string,
  policy: SessionPolicy,
  sessionExpiresAt: Date,
) {
  const { token, hash } = newRefreshToken();
  const idleExpiry = secondsFromNow(policy.refreshTtlSeconds);
  await db.insert(refreshTokens).values({
    sessionId,
    tokenHash: hash,
    expiresAt: idleExpiry < sessionExpiresAt ? idleExpiry : sessionExpiresAt,
  });
  return token;
}

async function hasActiveMembership(db: ScopedDb, userId: string, tenantId: string): Promise<boolean> {
  const [row] = await db
    .select({ tenantId: memberships.tenantId })
    .from(memberships)
    .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
    .where(
      and(
        eq(memberships.userId, userId),
        eq(memberships.tenantId, tenantId),
        eq(memberships.status, 'active'),
        eq(tenants.status, 'active'),
      ),
    );
  return row !== undefined;
}

/** What every sign-in, refresh and tenant switch answers: a fresh access token and the next refresh token. */
export async function tokenPairFor(
  tokens: {
    ttlSeconds: number;
    sign(claims: { userId: string; tenantId: string; sessionId?: string; name?: string }): Promise<string>;
  },
  session: IssuedSession,
): Promise<{ accessToken: string; refreshToken: string; expiresIn: number }> {
  const { userId, tenantId, sessionId, name } = session;
  return {
    accessToken: await tokens.sign({ userId, tenantId, sessionId, ...(name ? { name } : {}) }),
    refreshToken: session.refreshToken,
    expiresIn: tokens.ttlSeconds,
  };
}

/** The rows of a new session and its first refresh token, in the caller's identity transaction. */
export async function insertSession(
  db: ScopedDb,
  input: {
    sessionId?: string;
    userId: string;
    tenantId: string;
    policy: SessionPolicy;
    client?: SessionClient;
  },
): Promise<{ sessionId: string; refreshToken: string }> {
  const expiresAt = secondsFromNow(input.policy.maxAgeSeconds);
  const [session] = await db
    .insert(sessions)
    .values({
      ...(input.sessionId ? { id: input.sessionId } : {}),
      userId: input.userId,
      tenantId: input.tenantId,
      userAgent: input.client?.userAgent?.slice(0, 512) ?? null,
      ipAddress: input.client?.ipAddress ?? null,
      expiresAt,
    })
    .returning({ id: sessions.id });
  if (!session) throw new Error('insert returned no session');
  const refreshToken = await issueRefreshToken(db, session.id, input.policy, expiresAt);
  return { sessionId: session.id, refreshToken };
}

/**
 * Starts a session in `tenantId` for a person who just proved who they are, and records the sign-in
 * (`session.signed_in`, or `audit.action`) in that tenant's audit trail in the same transaction.
 */
export async function startSession(
  database: Database,
  input: {
    userId: string;
    name: string;
    tenantId: string;
    policy: SessionPolicy;
    client?: SessionClient;
    audit: { context: AuditContext; action?: AuditAction; metadata?: Record<string, unknown> };
  },
): Promise<IssuedSession> {
  return withIdentity(
    database,
    async (db) => {
      const { sessionId, refreshToken } = await insertSession(db, input);
      await recordAuditAs(
        db,
        { tenantId: input.tenantId, userId: input.userId },
        personWho({ id: input.userId, name: input.name }, input.audit.context),
        {
          action: input.audit.action ?? 'session.signed_in',
          targets: [target('user', input.userId, input.name), target('session', sessionId)],
          metadata: input.audit.metadata,
        },
      );
      return { sessionId, userId: input.userId, tenantId: input.tenantId, refreshToken, name: input.name };
    },
    { userId: input.userId },
  );
}

/**
 * Spends a refresh token and issues the next one. A token that was already spent means it was copied:
 * the whole session is revoked, so neither the thief nor the owner can go on with it.
 */
export async function rotateRefreshToken(
  database: Database,
  input: { refreshToken: string; policy: SessionPolicy; context: AuditContext },
): Promise<IssuedSession> {
  if (!input.refreshToken.startsWith(REFRESH_TOKEN_PREFIX)) throw invalidRefreshToken();
  const hash = hashOpaqueToken(input.refreshToken);
  const outcome = await withIdentity(database, async (db) => {
    // Spending is one conditional update, so two concurrent refreshes with one token cannot both win.
    const [spent] = await db
      .update(refreshTokens)
      .set({ spentAt: new Date() })
      .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.spentAt)))
      .returning({ sessionId: refreshTokens.sessionId, expiresAt: refreshTokens.expiresAt });
    if (!spent) {
      const [known] = await db
        .select({ sessionId: refreshTokens.sessionId })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hash));
      if (known) {
        const revoked = await db
          .update(sessions)
          .set({ revokedAt: new Date(), revokedReason: 'refresh-token-reuse' })
          .where(and(eq(sessions.id, known.sessionId), isNull(sessions.revokedAt)))
          .returning({ tenantId: sessions.tenantId, userId: sessions.userId });
        const [ended] = revoked;
        // A security event: recorded in the session's tenant, as its person (whoever presented the token).
        if (ended) {
          await recordAuditAs(db, ended, personWho({ id: ended.userId, name: null }, input.context), {
            action: 'session.refresh_reuse_detected',
            targets: [target('user', ended.userId), target('session', known.sessionId)],
            outcome: 'failure',
          });
        }
        return { kind: 'reused' as const, tenantIds: revoked.map((row) => row.tenantId) };
      }
      return { kind: 'unknown' as const };
    }
    // The person's name comes along for the access token (same statement: no extra round trip).
    const [found] = await db
      .select({ session: sessions, name: users.name })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(
        and(eq(sessions.id, spent.sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)),
      );
    const session = found?.session;
    if (!session || spent.expiresAt <= new Date()) return { kind: 'expired' as const };
    await db.execute(sql`select set_config('app.user_id', ${session.userId}, true)`);
    if (!(await hasActiveMembership(db, session.userId, session.tenantId)))
      return { kind: 'no-membership' as const };
    await db.update(sessions).set({ lastUsedAt: new Date() }).where(eq(sessions.id, session.id));
    const refreshToken = await issueRefreshToken(db, session.id, input.policy, session.expiresAt);
    return {
      kind: 'rotated' as const,
      issued: {
        sessionId: session.id,
        userId: session.userId,
        tenantId: session.tenantId,
        refreshToken,
        name: found?.name,
      },
    };
  });
  // The revocation of a reused token must persist, so the answer is given after the commit.
  if (outcome.kind === 'reused') await database.invalidateAccess(outcome.tenantIds);
  if (outcome.kind !== 'rotated') throw invalidRefreshToken();
  return outcome.issued;
}

/** Moves a session to another tenant the person is an active member of, with a fresh refresh token. */
export async function switchSessionTenant(
  database: Database,
  input: { sessionId: string; userId: string; tenantId: string; policy: SessionPolicy; who: AuditWho },
): Promise<IssuedSession> {
  return withIdentity(
    database,
    async (db) => {
      if (!(await hasActiveMembership(db, input.userId, input.tenantId))) {
        throw new AppError('forbidden', 'You are not an active member of that tenant.');
      }
      const [session] = await db
        .update(sessions)
        .set({ tenantId: input.tenantId, lastUsedAt: new Date() })
        .where(
          and(
            eq(sessions.id, input.sessionId),
            eq(sessions.userId, input.userId),
            isNull(sessions.revokedAt),
            gt(sessions.expiresAt, sql`now()`),
          ),
        )
        .returning({ id: sessions.id, expiresAt: sessions.expiresAt });
      if (!session) throw new AppError('unauthorized', 'The session has ended; sign in again.');
      // Tokens issued for the previous tenant are spent, so they cannot be refreshed into it again.
      await db
        .update(refreshTokens)
        .set({ spentAt: new Date() })
        .where(and(eq(refreshTokens.sessionId, session.id), isNull(refreshTokens.spentAt)));
      const refreshToken = await issueRefreshToken(db, session.id, input.policy, session.expiresAt);
      // Recorded in the tenant the session moves to.
      await recordAuditAs(db, input, input.who, {
        action: 'session.tenant_switched',
        targets: [target('user', input.userId, input.who.actor.name), target('session', session.id)],
      });
      return {
        sessionId: session.id,
        userId: input.userId,
        tenantId: input.tenantId,
        refreshToken,
        ...(input.who.actor.name ? { name: input.who.actor.name } : {}),
      };
    },
    { userId: input.userId },
  );
}

/** Revokes one of a person's sessions. Answers 404 for a session that is not theirs. */
export async function endSession(
  database: Database,
  input: { sessionId: string; userId: string; reason: 'logout' | 'revoked'; who: AuditWho },
): Promise<void> {
  const ended = await withIdentity(
    database,
    async (db) => {
      const ended = await db
        .update(sessions)
        .set({ revokedAt: new Date(), revokedReason: input.reason })
        .where(
          and(
            eq(sessions.id, input.sessionId),
            eq(sessions.userId, input.userId),
            isNull(sessions.revokedAt),
          ),
        )
        .returning({ id: sessions.id, tenantId: sessions.tenantId });
      const [session] = ended;
      // Recorded in the tenant the ended session worked in.
      if (session) {
        await recordAuditAs(db, { tenantId: session.tenantId, userId: input.userId }, input.who, {
          action: input.reason === 'logout' ? 'session.signed_out' : 'session.revoked',
          targets: [target('user', input.userId, input.who.actor.name), target('session', session.id)],
        });
      }
      return ended;
    },
    { userId: input.userId },
  );
  if (ended.length === 0) throw new AppError('not-found', 'No such active session.');
  await database.invalidateAccess(ended.map((session) => session.tenantId));
}

/** The person's active sessions, most recently used first. */
export async function listSessions(
  database: Database,
  input: { userId: string; currentSessionId?: string },
): Promise<SessionModel[]> {
  const rows = await withIdentity(
    database,
    (db) =>
      db
        .select()
        .from(sessions)
        .where(
          and(
            eq(sessions.userId, input.userId),
            isNull(sessions.revokedAt),
            gt(sessions.expiresAt, sql`now()`),
          ),
        )
        .orderBy(desc(sessions.lastUsedAt))
        .limit(100),
    { userId: input.userId },
  );
  return rows.map((row) => ({
    id: row.id,
    tenantId: row.tenantId,
    userAgent: row.userAgent,
    ipAddress: row.ipAddress,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    current: row.id === input.currentSessionId,
  }));
}
