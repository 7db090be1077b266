import { eq, sql } from 'drizzle-orm';
import { type Database, inOrder, selectRows } from '../../../db/client.ts';
import { plans } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import type { PeriodicJob } from '../../../realtime/periodic.ts';
import type { Logger } from '../../logger.ts';
import { recordAudit, systemWho, target } from '../audit/record.ts';
import { lockBillingAccount, publishSubscription, startManualPeriod } from './service.ts';

/**
 * Renews the plans platform admins set by hand whose period has ended: the next period starts where the
 * last one ended (or now, after a long pause: missed periods are not granted retroactively) with its
 * allowance. Safe on many nodes at once: each renewal locks the tenant's billing account and re-checks,
 * and an allowance is keyed by its period. Answers how many tenants were renewed.
 */
export async function renewManualPlans(
  database: Database,
  logger: Logger,
  maxTenants = 100,
): Promise<number> {
  const due = await database.transaction({ role: 'app_user' }, (db) =>
    selectRows<{ tenant_id: string }>(
      db,
      sql`select billing_manual_renewals_due(${maxTenants}) as tenant_id`,
    ),
  );
  let renewed = 0;
  for (const { tenant_id: tenantId } of due) {
    try {
      const done = await withTenant(database, tenantId, async (db) => {
        const account = await lockBillingAccount(db, tenantId);
        const end = account.currentPeriodEnd;
        if (account.source !== 'manual' || account.status !== 'active' || !account.planId || !end)
          return false;
        if (end > new Date()) return false;
        const [plan] = await db.select().from(plans).where(eq(plans.id, account.planId));
        if (!plan) return false;
        const lengthMs = end.getTime() - (account.currentPeriodStart?.getTime() ?? end.getTime());
        const start = Date.now() - end.getTime() < lengthMs ? end : new Date();
        const period = await startManualPeriod(db, tenantId, plan, start, { type: 'system' });
        await inOrder(
          () => publishSubscription(db, period.account),
          () =>
            recordAudit(db, tenantId, systemWho('billing.manual-plan-renewals'), {
              action: 'billing.plan_renewed',
              targets: [target('plan', plan.id, plan.name)],
              changes: {
                currentPeriodEnd: [end.toISOString(), period.account.currentPeriodEnd?.toISOString() ?? null],
              },
              metadata: { creditsGranted: period.creditsGranted },
            }),
        );
        return true;
      });
      if (done) renewed += 1;
    } catch (error) {
      logger.error({ err: error, tenantId }, 'renewing a plan set by hand failed; retried on the next round');
    }
  }
  return renewed;
}

/** Runs `renewManualPlans` every `intervalMs` (default a minute) until stopped. */
/** Renews the plans set by hand every minute (or `intervalMs`). */
export function manualPlanRenewalJob(options: {
  database: Database;
  logger: Logger;
  intervalMs?: number;
}): PeriodicJob {
  return {
    name: 'billing.manual-plan-renewals',
    intervalMs: options.intervalMs ?? 60_000,
    run: () => renewManualPlans(options.database, options.logger),
  };
}
