import type Redis from 'ioredis';
import {
  type AccessCacheStore,
  memoryAccessCacheStore,
  redisAccessCacheStore,
  withAccessCache,
} from '../db/access-cache.ts';
import { type Database, openDatabase } from '../db/client.ts';
import { memoryAccessSignal, redisAccessSignal, withAccessSignal } from '../realtime/access-signal.ts';
import { type BusConsumer, memoryEventBus, redisEventBus } from '../realtime/bus.ts';
import { createGateway, type GatewayOptions } from '../realtime/gateway.ts';
import { type PeriodicJob, startPeriodic } from '../realtime/periodic.ts';
import { createRelay } from '../realtime/relay.ts';
import { eventPruningJob } from '../realtime/retention.ts';
import { createApp } from './app.ts';
import type { Config, OidcProviderConfig } from './config.ts';
import { offerPlatformSetup } from './features/admin/setup.ts';
import { createApiKeyResolver } from './features/api-keys/service.ts';
import { auditCheckpointJob } from './features/audit/checkpoints.ts';
import { auditRetentionJob } from './features/audit/retention.ts';
import { loadAuditSigner } from './features/audit/signing-key.ts';
import { createAccessTokens } from './features/auth/access-tokens.ts';
import { type BillingCatalog, loadBillingCatalog, syncBillingCatalog } from './features/billing/catalog.ts';
import { manualPlanRenewalJob } from './features/billing/renewals.ts';
import { type BillingDeps, createStripeClient } from './features/billing/stripe.ts';
import { gatewayIdentity } from './features/events/realtime.ts';
import { pipelineGauges } from './features/health/metrics.ts';
import { createOidcSignIn } from './features/oidc/flow.ts';
import { createWebhookDispatcher } from './features/webhooks/dispatcher.ts';
import { webhookPruningJob } from './features/webhooks/retention.ts';
import { parseSchedule } from './features/webhooks/schedule.ts';
import { createLogger, type Logger } from './logger.ts';
import { devMailbox, type Mailer, smtpMailer } from './mail/mailer.ts';
import { transportBodyCap } from './plugins/body-limit.ts';
import {
  createRateLimiter,
  memoryRateLimitStore,
  type RateLimitStore,
  rateLimitsFrom,
  redisRateLimitStore,
} from './plugins/rate-limit.ts';
import { connectRedis, redisReadiness } from './redis.ts';
import { loadOrCreateLocalSecret } from './secrets.ts';

/**
 * What a caller may hand in instead of what the runtime would build from the config: the test harness
 * (a per-file database, silent logs, a test mailbox, memory rate limits) and the benches. Production
 * passes none.
 */
export interface RuntimeOverrides {
  /** An opened, migrated database; its owner closes it (the runtime closes only what it opened). */
  database?: Database;
  logger?: Logger;
  mailer?: Mailer;
  billingCatalog?: BillingCatalog;
  billing?: Partial<Pick<BillingDeps, 'stripe' | 'webhookSecret' | 'webhookToleranceSeconds'>>;
  rateLimitStore?: RateLimitStore;
  /** Where passed access checks are remembered; `null` turns the cache off. */
  accessCacheStore?: AccessCacheStore | null;
  /** Redis keys, so runs sharing one Redis stay apart. */
  redisKeys?: { events?: string; accessSignal?: string };
  /** How long a blocking bus read waits (ms). */
  busBlockMs?: number;
  relayPollMs?: number;
  gateway?: Pick<GatewayOptions, 'reauthGraceMs' | 'revalidateMs' | 'replayLimit'>;
  /** The webhook dispatcher's name for this node, and how often it sweeps (tests). */
  webhooks?: { node?: string; pollMs?: number };
  /** A decorator failing (access cache, access signal): logged and worked around unless told otherwise. */
  onDecoratorError?: (error: unknown) => void;
}

/** Options of `start`: where to listen (the config's HOST and PORT by default). */
export interface ListenOptions {
  hostname?: string;
  port?: number;
}

/**
 * The one place that builds Wrapper: database decorators, the bus, the relay, the realtime gateway,
 * the app, the bus consumers and the periodic jobs. `server/main.ts`, the test harness and the benches
 * all call it; `start()` listens and starts the pipeline, `stop()` ends it all, waiting for work in
 * flight (requests, a relay batch, a job's run, a consumer's event).
 */
export async function createRuntime(
  config: Config,
  /** The OpenID Connect providers named by OIDC_PROVIDERS (`parseOidcProviders`). */
  oidcProviders: OidcProviderConfig[],
  overrides: RuntimeOverrides = {},
) {
  // A bad catalog file is a configuration error: found before anything is opened.
  const billingCatalog = overrides.billingCatalog ?? (await loadBillingCatalog(config.BILLING_CATALOG));
  const logger = overrides.logger ?? createLogger(config);
  const embedded = !config.DATABASE_URL;
  const ownsDatabase = !overrides.database;
  const opened =
    overrides.database ??
    (await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolMax: config.DATABASE_POOL_MAX,
    }));
  const redis: Redis | null = config.REDIS_URL ? connectRedis(config.REDIS_URL) : null;
  const onError = (what: string) =>
    overrides.onDecoratorError ?? ((error: unknown) => logger.warn({ err: error }, what));

  // Remembered access checks need one place every node sees: Redis, or the one process of the embedded
  // database. Postgres without Redis may have several nodes, so every check runs in Postgres there.
  const accessCacheStore =
    overrides.accessCacheStore !== undefined
      ? overrides.accessCacheStore
      : !config.ACCESS_CACHE
        ? null
        : redis
          ? redisAccessCacheStore(redis)
          : embedded
            ? memoryAccessCacheStore()
            : null;
  const cached = accessCacheStore
    ? withAccessCache(opened, accessCacheStore, onError('access cache unavailable; checking in Postgres'))
    : opened;
  // Every change that takes access away is told to the realtime gateways of every node.
  const accessSignal = redis
    ? redisAccessSignal(redis, overrides.redisKeys?.accessSignal)
    : memoryAccessSignal();
  const database = withAccessSignal(
    cached,
    accessSignal,
    onError('access change not signalled; sockets are re-checked periodically'),
  );

  // Committed events move from the outbox to the bus: Redis Streams with REDIS_URL, else in process.
  const bus = redis
    ? redisEventBus(redis, { stream: overrides.redisKeys?.events, blockMs: overrides.busBlockMs })
    : memoryEventBus();
  const relay = createRelay({
    database,
    bus,
    pollMs: overrides.relayPollMs,
    onError: (error) => logger.warn({ err: error }, 'event relay: will retry'),
  });

  const secret = config.JWT_SECRET ?? loadOrCreateLocalSecret(config.DATA_DIR, 'jwt');
  const auditSigner = loadAuditSigner(config);
  const tokens = createAccessTokens({ secret, ttlSeconds: config.JWT_ACCESS_TTL_SECONDS });
  const rateLimitStore =
    overrides.rateLimitStore ?? (redis ? redisRateLimitStore(redis) : memoryRateLimitStore());
  const rateLimits = rateLimitsFrom(
    createRateLimiter(rateLimitStore, (error) =>
      logger.warn({ err: error }, 'rate-limit store unavailable; not limiting'),
    ),
    {
      authPerMinute: config.RATE_LIMIT_AUTH_PER_MINUTE,
      tenantPerMinute: config.RATE_LIMIT_TENANT_PER_MINUTE,
      apiKeyPerMinute: config.RATE_LIMIT_API_KEY_PER_MINUTE,
      trustProxy: config.TRUST_PROXY,
    },
  );
  const mailer =
    overrides.mailer ??
    (config.SMTP_URL
      ? smtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM })
      : devMailbox({ from: config.MAIL_FROM, logger }));
  if (!overrides.mailer && !config.SMTP_URL && config.NODE_ENV === 'production') {
    logger.warn('SMTP_URL is not set: mail is only written to the log');
  }
  const gateway = createGateway({
    database,
    bus,
    // Sockets are checked when access changes, possibly before the change's bump of the cache
    // generation has landed: they ask Postgres directly, never the access cache.
    identity: gatewayIdentity({ database: opened, tokens, apiKeys: createApiKeyResolver(database) }),
    accessSignal,
    logger,
    ...overrides.gateway,
  });
  const appUrl = config.APP_URL ?? `http://localhost:${config.PORT}`;
  const oidc = createOidcSignIn({ providers: oidcProviders, appUrl, secret, logger });
  if (oidcProviders.length > 0) {
    logger.info(
      { providers: oidcProviders.map((provider) => provider.id), callback: oidc.callbackUrl('<id>') },
      'OpenID Connect sign-in enabled; register the callback URL with each provider',
    );
  }
  await syncBillingCatalog(database.owner, billingCatalog);
  const stripe =
    overrides.billing?.stripe !== undefined
      ? overrides.billing.stripe
      : createStripeClient({ secretKey: config.STRIPE_SECRET_KEY, apiUrl: config.STRIPE_API_URL });
  const billing: BillingDeps = {
    stripe,
    webhookSecret: overrides.billing?.webhookSecret ?? config.STRIPE_WEBHOOK_SECRET ?? null,
    webhookToleranceSeconds:
      overrides.billing?.webhookToleranceSeconds ?? config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    appUrl,
  };
  if (billing.stripe && !billing.webhookSecret) {
    logger.warn('STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET: payments will not be applied');
  }

  const webhookTargets = {
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    allowHttp: config.WEBHOOK_ALLOW_HTTP,
  };
  const webhooks = createWebhookDispatcher({
    database,
    logger,
    policy: webhookTargets,
    timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
    scheduleMs: parseSchedule(config.WEBHOOK_RETRY_SCHEDULE),
    concurrency: config.WEBHOOK_CONCURRENCY,
    disableAfterMs: config.WEBHOOK_DISABLE_AFTER_DAYS * 86_400_000,
    ...overrides.webhooks,
  });

  const app = createApp({
    config,
    mailer,
    appUrl,
    oidc,
    billing,
    operatorSecret: secret,
    invitationTtlHours: config.INVITATION_TTL_HOURS,
    devMailbox: !config.SMTP_URL && config.NODE_ENV !== 'production',
    database,
    tokens,
    sessionPolicy: {
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      maxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
    },
    rateLimits,
    logger,
    auditSigner,
    readinessChecks: redis ? [redisReadiness(redis)] : [],
    realtime: gateway,
    webhookTargets,
    metrics: {
      token: config.METRICS_TOKEN,
      sources: [...pipelineGauges({ relay, bus, gateway }), webhooks.gauges],
    },
  });

  /** Every reader of the bus that needs each event once in effect. */
  const consumers: BusConsumer[] = [webhooks.consumer];
  /** Every job on a clock. */
  const jobs: PeriodicJob[] = [
    webhooks.sweep,
    webhookPruningJob({ database, retentionDays: config.EVENTS_RETENTION_DAYS }),
    manualPlanRenewalJob({ database, logger }),
    eventPruningJob({ database, retentionDays: config.EVENTS_RETENTION_DAYS }),
    auditCheckpointJob({
      database,
      signer: auditSigner,
      logger,
      intervalSeconds: config.AUDIT_CHECKPOINT_INTERVAL_SECONDS,
    }),
    ...(config.AUDIT_RETENTION_DAYS
      ? [
          auditRetentionJob({
            database,
            signer: auditSigner,
            logger,
            retentionDays: config.AUDIT_RETENTION_DAYS,
          }),
        ]
      : []),
  ];

  const stopper = new AbortController();
  const running: Array<{ stop(): Promise<void> }> = [];
  let server: ReturnType<typeof app.listen>['server'] = null;
  let started = false;
  let stopped: Promise<void> | null = null;

  return {
    config,
    logger,
    /** The database as requests see it: access cache and access signal included. */
    database,
    /** The database without the access cache (for checks that must see the latest change). */
    uncachedDatabase: opened,
    tokens,
    /** The key signing audit checkpoints. */
    auditSigner,
    bus,
    relay,
    gateway,
    accessSignal,
    accessCacheStore,
    app,
    consumers,
    jobs,
    /** Outgoing webhooks: the sender of this node (its consumer and sweep are in the lists above). */
    webhooks,
    /** Where the app listens once started. */
    get url(): string | null {
      return server ? `http://${server.hostname}:${server.port}` : null;
    },

    /**
     * Listens, then starts the relay, the consumers and the jobs. A taken port throws (two nodes on one
     * port would split traffic silently).
     */
    async start(listen: ListenOptions = {}) {
      if (started) throw new Error('the runtime is already started');
      started = true;
      const options = gateway.serveOptions();
      server = app.listen({
        hostname: listen.hostname ?? config.HOST,
        port: listen.port ?? config.PORT,
        // Socket.IO's WebSocket handlers; the idle timeout stays above its ping interval.
        ...options,
        maxRequestBodySize: transportBodyCap(config.BODY_LIMIT_BYTES),
        idleTimeout: Math.max(60, options.idleTimeout),
        reusePort: false,
      }).server;
      await relay.start();
      await offerPlatformSetup(database, { appUrl, logger });
      for (const consumer of consumers) {
        running.push(
          bus.consume(consumer.group, (event) => consumer.handle(event, stopper.signal), consumer.options),
        );
      }
      webhooks.start();
      running.push(webhooks);
      for (const job of jobs) {
        running.push(
          startPeriodic(job, {
            signal: stopper.signal,
            onError: (error) =>
              logger.error({ err: error, job: job.name }, `${job.name} failed; retried later`),
          }),
        );
      }
      return this.url as string;
    },

    /**
     * Stops everything this runtime started or opened, once; later calls wait for the first. Requests
     * in flight finish first, unless `closeConnections` cuts them (tests).
     */
    stop(options: { closeConnections?: boolean } = {}): Promise<void> {
      stopped ??= (async () => {
        stopper.abort();
        await gateway.close();
        if (server) await app.stop(options.closeConnections);
        await relay.stop();
        await Promise.all(running.map((work) => work.stop()));
        await bus.close();
        accessSignal.close();
        rateLimitStore.close();
        redis?.disconnect();
        if (ownsDatabase) await opened.close();
      })();
      return stopped;
    },
  };
}

export type Runtime = Awaited<ReturnType<typeof createRuntime>>;
