import { hostname } from 'node:os';
import { and, eq, sql } from 'drizzle-orm';
import { type Database, inOrder, type ScopedDb, selectRows } from '../../../db/client.ts';
import {
  type WebhookEndpoint,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
} from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import type { BusConsumer } from '../../../realtime/bus.ts';
import type { PeriodicJob } from '../../../realtime/periodic.ts';
import { publish } from '../../../realtime/publish.ts';
import type { Logger } from '../../logger.ts';
import { recordAudit, systemWho, target } from '../audit/record.ts';
import type { Gauge, GaugeSource } from '../health/metrics.ts';
import { endpointEventData } from './endpoints.ts';
import { deliverableTypes } from './event-types.ts';
import { fanOut, tenantsBehind } from './fanout.ts';
import { retryDelayMs } from './schedule.ts';
import { type AttemptResult, sendMessage } from './sender.ts';
import { signedHeaders } from './signing.ts';
import type { TargetPolicy } from './targets.ts';

export interface WebhookDispatcherOptions {
  database: Database;
  logger: Logger;
  policy: TargetPolicy;
  timeoutMs: number;
  /** Waits between attempts (`WEBHOOK_RETRY_SCHEDULE`), in ms. */
  scheduleMs: readonly number[];
  /** Attempts in flight at once on this node. */
  concurrency: number;
  /** An endpoint failing this long is disabled. */
  disableAfterMs: number;
  /** This node's name in leases and the attempt log. */
  node?: string;
  /** A look for due retries this often (new deliveries start at once). @default 1000 */
  pollMs?: number;
}

/** Messages given up in a row (no success between) after which an endpoint is disabled as failing. */
export const GIVE_UPS_BEFORE_DISABLE = 5;

const wakeTypes: ReadonlySet<string> = new Set(deliverableTypes);

type Work = {
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | Date | null;
  /** The endpoint had failed since its last success (a success then clears that). */
  endpoint_failing: boolean;
  /** The endpoint takes one delivery at a time, in order: recording one makes the next claimable. */
  ordered: boolean;
  body: string;
};

/** One finished attempt waiting to be recorded. */
type Outcome = { tenantId: string; work: Work; startedAt: Date; result: AttemptResult };

/** Attempts recorded in one go at most, and tenants' transactions open at once for them. */
const RECORD_BATCH = 500;
const RECORD_TENANTS_AT_ONCE = 4;

/**
 * Delivers webhooks (decision 0018). Three parts, all on every node:
 * - a bus consumer: an event of a tenant fans out that tenant's log into deliveries (`fanOut`), then
 *   wakes the sender here;
 * - a sweep: tenants whose log is past their cursor are fanned out too (a wake-up the bus lost);
 * - the sender: claims due deliveries with a lease (`webhook_deliveries_claim`: one node per delivery,
 *   and one at a time per ordered endpoint), sends each, and records the attempt and what comes next
 *   in the tenant. A node that dies leaves leases that run out; another node then takes them over.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions) {
  const { database, logger } = options;
  const node = options.node ?? `${hostname()}/${process.pid}/${Math.random().toString(36).slice(2, 8)}`;
  // An attempt is cut at its timeout; the lease is twice that and some, for the read and the record
  // around it. A node that dies holds its deliveries this long at most; another then takes them over.
  const leaseSeconds = 2 * Math.ceil(options.timeoutMs / 1000) + 5;
  const stopper = new AbortController();
  /** Deliveries claimed by this node and not yet recorded (the concurrency bound covers both). */
  let busy = 0;
  const batches = new Set<Promise<void>>();
  let started = false;
  let claiming = false;
  let claimAgain = false;
  const counts = { succeeded: 0, failed: 0, givenUp: 0, disabled: 0, fannedOut: 0 };
  const claimBatch = Math.max(1, Math.floor(options.concurrency / 4));
  const failuresByClass = new Map<string, number>();

  // A retry due before the next sweep is woken for on time by a timer (the earliest one wins).
  let wakeTimer: ReturnType<typeof setTimeout> | null = null;
  let wakeTimerAt = Number.POSITIVE_INFINITY;
  function wakeAt(at: number): void {
    if (at >= wakeTimerAt || stopper.signal.aborted) return;
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeTimerAt = at;
    wakeTimer = setTimeout(
      () => {
        wakeTimer = null;
        wakeTimerAt = Number.POSITIVE_INFINITY;
        wake();
      },
      Math.max(0, at - Date.now()),
    );
  }

  // Set when a claim found fewer due deliveries than it could take: until something new comes due (a
  // fan-out, a retry's time, the sweep, or an ordered endpoint's delivery recorded), freed slots claim
  // nothing and need no query.
  let drained = false;

  function wake(): void {
    drained = false;
    if (!started || stopper.signal.aborted) return;
    if (claiming) {
      claimAgain = true;
      return;
    }
    claiming = true;
    claim()
      .catch((error) => logger.warn({ err: error }, 'webhooks: claiming deliveries failed; retried'))
      .finally(() => {
        claiming = false;
        if (claimAgain) {
          claimAgain = false;
          wake();
        }
      });
  }

  /** Frees slots; under a backlog a claim waits for a quarter of them (one claim per batch), idle at once. */
  function release(count: number): void {
    if (count <= 0) return;
    busy -= count;
    if (!drained && (options.concurrency - busy >= claimBatch || busy === 0)) wake();
  }

  async function claim(): Promise<void> {
    while (!stopper.signal.aborted && busy < options.concurrency) {
      const free = options.concurrency - busy;
      const claimed = await database.transaction({ role: 'app_user' }, (db) =>
        selectRows<{ tenant_id: string; delivery_id: string }>(
          db,
          sql`select * from webhook_deliveries_claim(${node}, ${leaseSeconds}::int, ${free}::int)`,
        ),
      );
      busy += claimed.length;
      const byTenant = new Map<string, string[]>();
      for (const { tenant_id: tenantId, delivery_id: deliveryId } of claimed) {
        byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), deliveryId]);
      }
      for (const [tenantId, deliveryIds] of byTenant) {
        const batch = sendBatch(tenantId, deliveryIds)
          .catch((error) =>
            logger.error({ err: error, tenantId }, 'webhooks: a batch of attempts failed to run'),
          )
          .finally(() => batches.delete(batch));
        batches.add(batch);
      }
      if (claimed.length < free) {
        drained = true;
        return;
      }
    }
  }

  /** One read for a tenant's claimed deliveries, then each sent on its own and recorded with others. */
  async function sendBatch(tenantId: string, deliveryIds: string[]): Promise<void> {
    let works: Work[];
    try {
      works = await withTenant(database, tenantId, (db) =>
        selectRows<Work>(
          db,
          sql`select d.id as delivery_id, d.endpoint_id, d.event_id, d.event_type, d.attempts, e.url, e.secret,
                     e.previous_secret, e.previous_secret_expires_at, m.body,
                     (e.failing_since is not null or e.given_up_in_a_row > 0) as endpoint_failing,
                     e.ordering = 'per-endpoint' as ordered
                from webhook_deliveries d
                join webhook_endpoints e on e.tenant_id = d.tenant_id and e.id = d.endpoint_id
                join webhook_messages m on m.tenant_id = d.tenant_id and m.event_id = d.event_id
               where d.id in (${sql.join(
                 deliveryIds.map((id) => sql`${id}::uuid`),
                 sql`, `,
               )}) and d.lease_owner = ${node} and d.status = 'pending'`,
        ),
      );
    } catch (error) {
      release(deliveryIds.length); // their leases run out and they are claimed again
      throw error;
    }
    release(deliveryIds.length - works.length); // changed since claimed (deleted endpoint, replay cancelled)
    await Promise.all(
      works.map((work) =>
        attempt(tenantId, work)
          .catch((error) =>
            logger.error(
              { err: error, tenantId, deliveryId: work.delivery_id },
              'webhooks: an attempt failed to run',
            ),
          )
          .finally(() => release(1)),
      ),
    );
  }

  async function attempt(tenantId: string, work: Work): Promise<void> {
    const previousLive =
      work.previous_secret &&
      work.previous_secret_expires_at &&
      new Date(work.previous_secret_expires_at).getTime() > Date.now();
    const secrets = previousLive ? [work.secret, work.previous_secret as string] : [work.secret];
    const startedAt = new Date();
    const headers = signedHeaders(secrets, work.event_id, Math.floor(startedAt.getTime() / 1000), work.body);
    const result = await sendMessage({
      url: work.url,
      headers,
      body: work.body,
      timeoutMs: options.timeoutMs,
      policy: options.policy,
      signal: stopper.signal,
    });
    if (stopper.signal.aborted) {
      // Stopped mid-attempt: not the receiver's failure. The lease is handed back; another node (or this
      // one, restarted) sends it again, and the receiver drops a duplicate by its webhook-id.
      await withTenant(database, tenantId, (db) =>
        db
          .update(webhookDeliveries)
          .set({ leaseUntil: null, leaseOwner: null })
          .where(and(eq(webhookDeliveries.id, work.delivery_id), eq(webhookDeliveries.leaseOwner, node))),
      ).catch(() => {});
      return;
    }
    await recorder.add({ tenantId, work, startedAt, result });
  }

  /**
   * Records attempts by group commit: what finished while one recording ran is recorded together by the
   * next, one transaction per tenant (its deliveries, attempts and one event), so a busy node spends one
   * transaction on many attempts and an idle one records each at once. A recording that fails is logged;
   * those deliveries keep their leases until they run out, then are sent again (at least once).
   */
  const recorder = (() => {
    const queued: Array<Outcome & { recorded: () => void }> = [];
    let flushing = false;
    async function flush(): Promise<void> {
      flushing = true;
      try {
        while (queued.length > 0) {
          // Attempts whose answers are already in (read in this turn of the event loop) join the batch:
          // on the embedded engine a transaction never yields to I/O, so nothing would join it otherwise.
          await new Promise((resolve) => setImmediate(resolve));
          const batch = queued.splice(0, RECORD_BATCH);
          const byTenant = new Map<string, Outcome[]>();
          for (const outcome of batch) {
            byTenant.set(outcome.tenantId, [...(byTenant.get(outcome.tenantId) ?? []), outcome]);
          }
          const tenants = [...byTenant];
          // A few tenants at once: the request path shares the pool.
          for (let index = 0; index < tenants.length; index += RECORD_TENANTS_AT_ONCE) {
            await Promise.all(
              tenants
                .slice(index, index + RECORD_TENANTS_AT_ONCE)
                .map(([tenantId, outcomes]) =>
                  withTenant(database, tenantId, (db) => record(db, tenantId, outcomes)).catch((error) =>
                    logger.warn(
                      { err: error, tenantId, attempts: outcomes.length },
                      'webhooks: recording attempts failed; they are sent again once their leases run out',
                    ),
                  ),
                ),
            );
          }
          for (const outcome of batch) outcome.recorded();
        }
      } finally {
        flushing = false;
      }
    }
    return {
      add(outcome: Outcome): Promise<void> {
        return new Promise((recorded) => {
          queued.push({ ...outcome, recorded });
          if (!flushing) void flush();
        });
      },
      get flushing() {
        return flushing;
      },
    };
  })();

  /** Attempts' rows, their deliveries' next steps, the endpoints' health, and one event telling the app. */
  async function record(db: ScopedDb, tenantId: string, outcomes: Outcome[]): Promise<void> {
    const now = new Date();
    const steps = outcomes.map(({ work, startedAt, result }) => {
      const attemptNo = work.attempts + 1;
      const gone = result.statusCode === 410;
      const delay =
        result.ok || gone ? null : retryDelayMs(attemptNo, options.scheduleMs, result.retryAfterSeconds);
      const givenUp = !result.ok && delay === null;
      return {
        work,
        startedAt,
        result,
        attemptNo,
        gone,
        givenUp,
        status: result.ok ? 'succeeded' : givenUp ? 'failed' : 'pending',
        nextAttemptAt: delay === null ? null : new Date(now.getTime() + delay),
      };
    });
    const rows = steps.map((step) => ({
      id: step.work.delivery_id,
      attempts: step.attemptNo,
      status: step.status,
      next_attempt_at: step.nextAttemptAt?.toISOString() ?? null,
      last_attempt_at: step.startedAt.toISOString(),
      last_status_code: step.result.statusCode,
      last_error: step.result.error,
      succeeded_at: step.result.ok ? now.toISOString() : null,
    }));
    // Only deliveries still leased to this node move on: one whose lease ran out is another node's now.
    const [moved] = await inOrder(
      () =>
        selectRows<{ id: string }>(
          db,
          sql`update webhook_deliveries d
                 set attempts = v.attempts, status = v.status, next_attempt_at = v.next_attempt_at,
                     lease_until = null, lease_owner = null, last_attempt_at = v.last_attempt_at,
                     last_status_code = v.last_status_code, last_error = v.last_error,
                     succeeded_at = v.succeeded_at, updated_at = ${now.toISOString()}::timestamptz
                from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
                     as v(id uuid, attempts integer, status text, next_attempt_at timestamptz,
                          last_attempt_at timestamptz, last_status_code integer, last_error text,
                          succeeded_at timestamptz)
               where d.id = v.id and d.lease_owner = ${node} and d.status = 'pending'
              returning d.id`,
        ),
      () =>
        db.insert(webhookAttempts).values(
          steps.map((step) => ({
            tenantId,
            deliveryId: step.work.delivery_id,
            endpointId: step.work.endpoint_id,
            attempt: step.attemptNo,
            startedAt: step.startedAt,
            durationMs: step.result.durationMs,
            statusCode: step.result.statusCode,
            errorClass: step.result.errorClass,
            error: step.result.error,
            responseExcerpt: step.result.excerpt,
            node,
          })),
        ),
    );
    for (const { result } of steps) {
      if (result.ok) counts.succeeded += 1;
      else {
        counts.failed += 1;
        const errorClass = result.errorClass ?? 'unknown';
        failuresByClass.set(errorClass, (failuresByClass.get(errorClass) ?? 0) + 1);
      }
    }
    const movedIds = new Set(moved.map((row) => row.id));
    const mine = steps.filter((step) => movedIds.has(step.work.delivery_id));
    if (mine.length === 0) return;
    if (mine.some((step) => step.work.ordered)) drained = false;
    for (const step of mine) {
      if (step.givenUp) counts.givenUp += 1;
      if (step.nextAttemptAt) wakeAt(step.nextAttemptAt.getTime());
    }
    await publish(db, 'webhook.deliveries_updated', {
      deliveries: mine.map((step) => ({
        id: step.work.delivery_id,
        endpointId: step.work.endpoint_id,
        eventId: step.work.event_id,
        eventType: step.work.event_type,
        status: step.status,
        attempts: step.attemptNo,
        nextAttemptAt: step.nextAttemptAt?.toISOString() ?? null,
        lastStatusCode: step.result.statusCode,
        lastError: step.result.error,
      })),
    });
    // The health of endpoints that failed, or had been failing, in the order of the attempts.
    const failing = new Set(
      mine.filter((step) => step.work.endpoint_failing).map((step) => step.work.endpoint_id),
    );
    for (const step of mine) {
      if (step.result.ok && !failing.has(step.work.endpoint_id)) continue;
      if (step.result.ok) failing.delete(step.work.endpoint_id);
      else failing.add(step.work.endpoint_id);
      await updateEndpointHealth(
        db,
        tenantId,
        step.work.endpoint_id,
        step.result,
        step.givenUp,
        step.gone,
        now,
      );
    }
  }

  async function updateEndpointHealth(
    db: ScopedDb,
    tenantId: string,
    endpointId: string,
    result: AttemptResult,
    givenUp: boolean,
    gone: boolean,
    now: Date,
  ): Promise<void> {
    if (result.ok) {
      await db
        .update(webhookEndpoints)
        .set({ failingSince: null, givenUpInARow: 0 })
        .where(eq(webhookEndpoints.id, endpointId));
      return;
    }
    const [endpoint] = await db
      .update(webhookEndpoints)
      .set({
        failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${now.toISOString()}::timestamptz)`,
        givenUpInARow: givenUp ? sql`${webhookEndpoints.givenUpInARow} + 1` : webhookEndpoints.givenUpInARow,
      })
      .where(eq(webhookEndpoints.id, endpointId))
      .returning();
    if (!endpoint?.enabled) return;
    const reason = gone
      ? 'gone'
      : (endpoint.failingSince &&
            now.getTime() - endpoint.failingSince.getTime() >= options.disableAfterMs) ||
          endpoint.givenUpInARow >= GIVE_UPS_BEFORE_DISABLE
        ? 'failing'
        : null;
    if (reason) await disable(db, tenantId, endpoint, reason, now);
  }

  async function disable(
    db: ScopedDb,
    tenantId: string,
    endpoint: WebhookEndpoint,
    reason: 'gone' | 'failing',
    now: Date,
  ): Promise<void> {
    const [disabled] = await db
      .update(webhookEndpoints)
      .set({ enabled: false, disabledReason: reason, disabledAt: now, updatedAt: now })
      .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.enabled, true)))
      .returning();
    if (!disabled) return;
    counts.disabled += 1;
    await inOrder(
      () => publish(db, 'webhook.endpoint_disabled', { endpoint: endpointEventData(disabled), reason }),
      () =>
        recordAudit(db, tenantId, systemWho('webhooks.dispatcher'), {
          action: 'webhook.endpoint_disabled',
          targets: [target('webhook_endpoint', disabled.id, disabled.url)],
          changes: { enabled: [true, false], disabledReason: [null, reason] },
          metadata: {
            failingSince: disabled.failingSince?.toISOString() ?? null,
            givenUpInARow: disabled.givenUpInARow,
          },
        }),
    );
  }

  // How far this node has fanned each tenant out: a change and its audit entry are two events that one
  // fan-out covers, so the second needs no transaction. (Only a shortcut: the cursor row decides.)
  const fannedOutTo = new Map<string, number>();
  const FANNED_OUT_MEMORY = 10_000;

  /** The bus consumer: each deliverable event fans out its tenant (a no-op when already done). */
  const consumer: BusConsumer = {
    name: 'webhooks',
    group: 'webhooks',
    async handle(event) {
      if (!wakeTypes.has(event.type)) return;
      if ((fannedOutTo.get(event.tenantId) ?? 0) >= event.seq) return;
      let more = true;
      while (more) {
        const done = await fanOut(database, event.tenantId, event.seq);
        if (done.cursor !== null) {
          if (fannedOutTo.size >= FANNED_OUT_MEMORY && !fannedOutTo.has(event.tenantId)) fannedOutTo.clear();
          fannedOutTo.set(event.tenantId, done.cursor);
        }
        counts.fannedOut += done.deliveries;
        more = done.more;
        if (done.deliveries > 0) wake();
      }
    },
  };

  /** Catches up tenants whose wake-up was lost, and looks for retries that have come due. */
  const sweep: PeriodicJob = {
    name: 'webhooks.sweep',
    intervalMs: options.pollMs ?? 1000,
    runNow: true,
    async run(signal) {
      for (const tenantId of await tenantsBehind(database)) {
        if (signal.aborted) return;
        let more = true;
        while (more && !signal.aborted) {
          const done = await fanOut(database, tenantId);
          counts.fannedOut += done.deliveries;
          more = done.more;
        }
      }
      wake();
    },
  };

  const gauges: GaugeSource = async () => {
    const [backlog] = await database.transaction({ role: 'app_user' }, (db) =>
      selectRows<{ pending: string | number; due: string | number; oldest_due_seconds: number | string }>(
        db,
        sql`select * from webhook_delivery_backlog()`,
      ),
    );
    const gauge = (name: string, help: string, value: number, labels?: Record<string, string>): Gauge => ({
      name,
      help,
      value,
      ...(labels ? { labels } : {}),
    });
    return [
      gauge(
        'wrapper_webhook_deliveries_pending',
        'Webhook deliveries not yet succeeded or given up (all nodes)',
        Number(backlog?.pending ?? 0),
      ),
      gauge(
        'wrapper_webhook_deliveries_due',
        'Pending webhook deliveries whose attempt is due now (all nodes)',
        Number(backlog?.due ?? 0),
      ),
      gauge(
        'wrapper_webhook_oldest_due_seconds',
        'How long the oldest due webhook delivery has waited',
        Number(backlog?.oldest_due_seconds ?? 0),
      ),
      gauge(
        'wrapper_webhook_attempts_in_flight',
        'Webhook deliveries this node has claimed and not yet recorded',
        busy,
      ),
      gauge(
        'wrapper_webhook_attempts_succeeded',
        'Webhook attempts answered 2xx by this node since start',
        counts.succeeded,
      ),
      ...[...failuresByClass].map(([errorClass, value]) =>
        gauge(
          'wrapper_webhook_attempts_failed',
          'Failed webhook attempts by this node since start, by error class',
          value,
          { error_class: errorClass },
        ),
      ),
      gauge(
        'wrapper_webhook_messages_given_up',
        'Webhook deliveries this node gave up (schedule over, or 410)',
        counts.givenUp,
      ),
      gauge(
        'wrapper_webhook_endpoints_disabled',
        'Webhook endpoints this node disabled (410 Gone, or failing)',
        counts.disabled,
      ),
      gauge(
        'wrapper_webhook_deliveries_fanned_out',
        'Webhook deliveries this node made from the event log since start',
        counts.fannedOut,
      ),
    ];
  };

  return {
    node,
    consumer,
    sweep,
    gauges,
    /**
     * Starts sending. The consumer and the sweep (which also looks for retries come due) are run by the
     * runtime with the others.
     */
    start(): void {
      if (started) return;
      started = true;
      wake();
    },
    /** Stops claiming, ends the attempts in flight (their leases handed back) and waits for them. */
    async stop(): Promise<void> {
      stopper.abort();
      if (wakeTimer) clearTimeout(wakeTimer);
      while (claiming || batches.size > 0 || recorder.flushing) {
        await Promise.allSettled([...batches]);
        if (claiming || recorder.flushing) await Bun.sleep(5);
      }
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
