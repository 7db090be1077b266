import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { sessions } from '../../../db/schema/index.ts';
import { withIdentity } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';

/**
 * Refuses (401) a token whose session has ended, expired, belongs to someone else, or now works in
 * another tenant than the token names. For the routes that manage sign-ins, which must keep working
 * for a person whose membership ended (logging out, moving to another tenant).
 */
export async function requireLiveSession(
  database: Database,
  claims: { sessionId?: string; userId: string; tenantId: string },
): Promise<void> {
  const { sessionId } = claims;
  if (!sessionId) throw new AppError('unauthorized', 'This token does not belong to a session.');
  const [live] = await withIdentity(
    database,
    (db) =>
      db
        .select({ id: sessions.id })
        .from(sessions)
        .where(
          and(
            eq(sessions.id, sessionId),
            eq(sessions.userId, claims.userId),
            eq(sessions.tenantId, claims.tenantId),
            isNull(sessions.revokedAt),
            gt(sessions.expiresAt, sql`now()`),
          ),
        ),
    { userId: claims.userId },
  );
  if (!live) throw new AppError('unauthorized', 'Access ended: the session has ended; sign in again.');
}
