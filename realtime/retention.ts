import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { selectRows } from '../db/client.ts';
import type { PeriodicJob } from './periodic.ts';

export interface EventRetentionOptions {
  database: Database;
  /** Events older than this many days are deleted once relayed. */
  retentionDays: number;
  /** Rows per statement. @default 5000 */
  batchSize?: number;
}

/**
 * Deletes relayed events older than the retention, a batch per statement until none are left; answers
 * how many. Replays asking for a pruned part of a tenant's log are told so (`events-pruned`).
 */
export async function pruneEvents(options: EventRetentionOptions): Promise<number> {
  const batchSize = options.batchSize ?? 5000;
  const keepFor = `${options.retentionDays} days`;
  let total = 0;
  for (;;) {
    const [row] = await options.database.transaction({ role: 'app_relay' }, (db) =>
      selectRows<{ removed: number | string }>(
        db,
        sql`select prune_events(${keepFor}::interval, ${batchSize}) as removed`,
      ),
    );
    const removed = Number(row?.removed ?? 0);
    total += removed;
    if (removed < batchSize) return total;
  }
}

/** Prunes at start and then every `intervalMs` (default ten minutes). */
export function eventPruningJob(options: EventRetentionOptions & { intervalMs?: number }): PeriodicJob {
  return {
    name: 'events.pruning',
    intervalMs: options.intervalMs ?? 10 * 60_000,
    runNow: true,
    run: () => pruneEvents(options),
  };
}
