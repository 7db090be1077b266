import { sql } from 'drizzle-orm';
import { type Database, selectRows } from '../../../db/client.ts';
import type { PeriodicJob } from '../../../realtime/periodic.ts';

export interface WebhookRetentionOptions {
  database: Database;
  /** Messages (with their deliveries and attempts) are kept this long once every delivery is over. */
  retentionDays: number;
  /** Messages per statement. @default 2000 */
  batchSize?: number;
}

/**
 * Deletes the delivery log older than the retention (the events' own, EVENTS_RETENTION_DAYS), a batch per
 * statement until none are left: messages none of whose deliveries is still pending, with their
 * deliveries and attempts. Answers how many messages went.
 */
export async function pruneWebhookMessages(options: WebhookRetentionOptions): Promise<number> {
  const batchSize = options.batchSize ?? 2000;
  let total = 0;
  for (;;) {
    const [row] = await options.database.transaction({ role: 'app_user' }, (db) =>
      selectRows<{ removed: number | string }>(
        db,
        sql`select prune_webhook_messages(${`${options.retentionDays} days`}::interval, ${batchSize}) as removed`,
      ),
    );
    const removed = Number(row?.removed ?? 0);
    total += removed;
    if (removed < batchSize) return total;
  }
}

/** Prunes the delivery log every `intervalMs` (default an hour). */
export function webhookPruningJob(options: WebhookRetentionOptions & { intervalMs?: number }): PeriodicJob {
  return {
    name: 'webhooks.pruning',
    intervalMs: options.intervalMs ?? 3600_000,
    run: () => pruneWebhookMessages(options),
  };
}
