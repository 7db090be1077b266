import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database, ScopedDb } from '../../../db/client.ts';
import { memberships, refreshTokens, sessions, tenants } from '../../../db/schema/index.ts';
import { withIdentity } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../opaque-tokens.ts';
import type { SessionModel, TokenPair } from './model.ts';

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
    sign(claims: { userId: string; tenantId: string; sessionId?: string }): Promise<string>;
  },
  session: IssuedSession,
): Promise<TokenPair> {
  return {
    accessToken: await tokens.sign(session),
    refreshToken: session.refreshToken,
    expiresIn: tokens.ttlSeconds,
  };
}

/** Starts a session in `tenantId` for a person who just proved who they are. */
export async function startSession(
  database: Database,
  input: { userId: string; tenantId: string; policy: SessionPolicy; client?: SessionClient },
): Promise<IssuedSession> {
  return withIdentity(
    database,
    async (db) => {
      const expiresAt = secondsFromNow(input.policy.maxAgeSeconds);
      const [session] = await db
        .insert(sessions)
        .values({
          userId: input.userId,
          tenantId: input.tenantId,
          userAgent: input.client?.userAgent?.slice(0, 512) ?? null,
          ipAddress: input.client?.ipAddress ?? null,
          expiresAt,
        })
        .returning({ id: sessions.id });
      if (!session) throw new Error('insert returned no session');
      const refreshToken = await issueRefreshToken(db, session.id, input.policy, expiresAt);
      return { sessionId: session.id, userId: input.userId, tenantId: input.tenantId, refreshToken };
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
  input: { refreshToken: string; policy: SessionPolicy },
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
          .returning({ tenantId: sessions.tenantId });
        return { kind: 'reused' as const, tenantIds: revoked.map((row) => row.tenantId) };
      }
      return { kind: 'unknown' as const };
    }
    const [session] = await db
      .select()
      .from(sessions)
      .where(
        and(eq(sessions.id, spent.sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)),
      );
    if (!session || spent.expiresAt <= new Date()) return { kind: 'expired' as const };
    await db.execute(sql`select set_config('app.user_id', ${session.userId}, true)`);
    if (!(await hasActiveMembership(db, session.userId, session.tenantId)))
      return { kind: 'no-membership' as const };
    await db.update(sessions).set({ lastUsedAt: new Date() }).where(eq(sessions.id, session.id));
    const refreshToken = await issueRefreshToken(db, session.id, input.policy, session.expiresAt);
    return {
      kind: 'rotated' as const,
      issued: { sessionId: session.id, userId: session.userId, tenantId: session.tenantId, refreshToken },
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
  input: { sessionId: string; userId: string; tenantId: string; policy: SessionPolicy },
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
      return { sessionId: session.id, userId: input.userId, tenantId: input.tenantId, refreshToken };
    },
    { userId: input.userId },
  );
}

/** Revokes one of a person's sessions. Answers 404 for a session that is not theirs. */
export async function endSession(
  database: Database,
  input: { sessionId: string; userId: string; reason: 'logout' | 'revoked' },
): Promise<void> {
  const ended = await withIdentity(
    database,
    (db) =>
      db
        .update(sessions)
        .set({ revokedAt: new Date(), revokedReason: input.reason })
        .where(
          and(
            eq(sessions.id, input.sessionId),
            eq(sessions.userId, input.userId),
            isNull(sessions.revokedAt),
          ),
        )
        .returning({ id: sessions.id, tenantId: sessions.tenantId }),
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
