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
import { toDeliveryEvent } from './deliveries.ts';
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
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | Date | null;
  /** The endpoint had failed since its last success (a success then clears that). */
  endpoint_failing: boolean;
  body: string;
};

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
  const inFlight = new Set<Promise<void>>();
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

  function wake(): void {
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

  async function claim(): Promise<void> {
    while (!stopper.signal.aborted && inFlight.size < options.concurrency) {
      const free = options.concurrency - inFlight.size;
      const claimed = await database.transaction({ role: 'app_user' }, (db) =>
        selectRows<{ tenant_id: string; delivery_id: string }>(
          db,
          sql`select * from webhook_deliveries_claim(${node}, ${leaseSeconds}::int, ${free}::int)`,
        ),
      );
      for (const { tenant_id: tenantId, delivery_id: deliveryId } of claimed) {
        const work = attempt(tenantId, deliveryId)
          .catch((error) =>
            logger.error({ err: error, tenantId, deliveryId }, 'webhooks: an attempt failed to run'),
          )
          .finally(() => {
            inFlight.delete(work);
            // Under a backlog, claim for a batch of freed slots rather than one claim per finished
            // attempt (the claim is the costliest statement of the loop); idle, claim at once.
            if (options.concurrency - inFlight.size >= claimBatch || inFlight.size === 0) wake();
          });
        inFlight.add(work);
      }
      if (claimed.length < free) return;
    }
  }

  async function attempt(tenantId: string, deliveryId: string): Promise<void> {
    const [work] = await withTenant(database, tenantId, (db) =>
      selectRows<Work>(
        db,
        sql`select d.id as delivery_id, d.endpoint_id, d.event_id, d.attempts, e.url, e.secret,
                   e.previous_secret, e.previous_secret_expires_at, m.body,
                   (e.failing_since is not null or e.given_up_in_a_row > 0) as endpoint_failing
              from webhook_deliveries d
              join webhook_endpoints e on e.tenant_id = d.tenant_id and e.id = d.endpoint_id
              join webhook_messages m on m.tenant_id = d.tenant_id and m.event_id = d.event_id
             where d.id = ${deliveryId}::uuid and d.lease_owner = ${node} and d.status = 'pending'`,
      ),
    );
    if (!work) return; // changed since it was claimed (deleted endpoint, replay cancelled)
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
          .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.leaseOwner, node))),
      ).catch(() => {});
      return;
    }
    await withTenant(database, tenantId, (db) => record(db, tenantId, work, startedAt, result));
  }

  /** The attempt's row, the delivery's next step, the endpoint's health, and the event telling the app. */
  async function record(
    db: ScopedDb,
    tenantId: string,
    work: Work,
    startedAt: Date,
    result: AttemptResult,
  ): Promise<void> {
    const attemptNo = work.attempts + 1;
    const now = new Date();
    const gone = result.statusCode === 410;
    const delay =
      result.ok || gone ? null : retryDelayMs(attemptNo, options.scheduleMs, result.retryAfterSeconds);
    const givenUp = !result.ok && delay === null;
    const [delivery] = await db
      .update(webhookDeliveries)
      .set({
        attempts: attemptNo,
        status: result.ok ? 'succeeded' : givenUp ? 'failed' : 'pending',
        nextAttemptAt: delay === null ? null : new Date(now.getTime() + delay),
        leaseUntil: null,
        leaseOwner: null,
        lastAttemptAt: startedAt,
        lastStatusCode: result.statusCode,
        lastError: result.error,
        succeededAt: result.ok ? now : null,
        updatedAt: now,
      })
      .where(
        and(
          eq(webhookDeliveries.id, work.delivery_id),
          eq(webhookDeliveries.leaseOwner, node),
          eq(webhookDeliveries.status, 'pending'),
        ),
      )
      .returning();
    await db.insert(webhookAttempts).values({
      tenantId,
      deliveryId: work.delivery_id,
      endpointId: work.endpoint_id,
      attempt: attemptNo,
      startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      errorClass: result.errorClass,
      error: result.error,
      responseExcerpt: result.excerpt,
      node,
    });
    if (result.ok) counts.succeeded += 1;
    else {
      counts.failed += 1;
      const errorClass = result.errorClass ?? 'unknown';
      failuresByClass.set(errorClass, (failuresByClass.get(errorClass) ?? 0) + 1);
    }
    // The lease ran out and another node took the delivery over: this attempt is logged, the delivery is
    // theirs to move on.
    if (!delivery) return;
    if (givenUp) counts.givenUp += 1;
    if (delivery.nextAttemptAt) wakeAt(delivery.nextAttemptAt.getTime());
    await publish(db, 'webhook.delivery_updated', { delivery: toDeliveryEvent(delivery) });
    if (!result.ok || work.endpoint_failing) {
      await updateEndpointHealth(db, tenantId, work.endpoint_id, result, givenUp, gone, now);
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
      gauge('wrapper_webhook_attempts_in_flight', 'Webhook attempts this node is making now', inFlight.size),
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
      while (claiming || inFlight.size > 0) {
        await Promise.allSettled([...inFlight]);
        if (claiming) await Bun.sleep(5);
      }
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
