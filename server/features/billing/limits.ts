import { and, count, eq, gt, isNull, ne, or, sql } from 'drizzle-orm';
import type { ScopedDb } from '../../../db/client.ts';
import { apiKeys, billingAccounts, invitations, memberships, plans } from '../../../db/schema/index.ts';
import { AppError } from '../../errors.ts';

/** What a plan's `limits` may cap, and what counts against each. */
export type PlanLimit = 'members' | 'apiKeys';

const LIMIT_NAMES: Record<PlanLimit, string> = {
  members: 'members (with pending invitations)',
  apiKeys: 'API keys',
};

/**
 * Refuses (402 `plan-limit-reached`) what would take the tenant past its plan's limit. A tenant without a
 * plan, or a plan without that limit, has none. The billing account row is locked, so two requests cannot
 * both take the last seat. `exceptEmail`: a re-invitation replaces that address's pending invitation.
 */
export async function requireWithinPlanLimit(
  db: ScopedDb,
  tenantId: string,
  limit: PlanLimit,
  options: { exceptEmail?: string } = {},
): Promise<void> {
  const [row] = await db
    .select({ limits: plans.limits, planId: plans.id, planName: plans.name })
    .from(billingAccounts)
    .innerJoin(plans, eq(plans.id, billingAccounts.planId))
    .where(eq(billingAccounts.tenantId, tenantId))
    .for('update', { of: billingAccounts });
  const cap = (row?.limits as Record<string, number> | undefined)?.[limit];
  if (!row || typeof cap !== 'number') return;
  const current = limit === 'members' ? await seatsTaken(db, options.exceptEmail) : await liveApiKeys(db);
  if (current + 1 > cap) {
    throw new AppError(
      'plan-limit-reached',
      `The ${row.planName} plan allows ${cap} ${LIMIT_NAMES[limit]}; this tenant has ${current}. Upgrade the plan or free one up.`,
      { limit, allowed: cap, current, planId: row.planId },
    );
  }
}

async function seatsTaken(db: ScopedDb, exceptEmail: string | undefined): Promise<number> {
  const [members] = await db.select({ value: count() }).from(memberships);
  const [pending] = await db
    .select({ value: count() })
    .from(invitations)
    .where(
      and(
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, sql`now()`),
        exceptEmail ? ne(invitations.email, exceptEmail) : undefined,
      ),
    );
  return (members?.value ?? 0) + (pending?.value ?? 0);
}

async function liveApiKeys(db: ScopedDb): Promise<number> {
  const [keys] = await db
    .select({ value: count() })
    .from(apiKeys)
    .where(and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`))));
  return keys?.value ?? 0;
}
