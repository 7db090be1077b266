import { memoryAccessCacheStore, redisAccessCacheStore, withAccessCache } from '../db/access-cache.ts';
import { openDatabase } from '../db/client.ts';
import { DataDirInUseError } from '../db/data-dir-lock.ts';
import { memoryAccessSignal, redisAccessSignal, withAccessSignal } from '../realtime/access-signal.ts';
import { memoryEventBus, redisEventBus } from '../realtime/bus.ts';
import { createGateway } from '../realtime/gateway.ts';
import { createRelay } from '../realtime/relay.ts';
import { startEventPruning } from '../realtime/retention.ts';
import { createApp } from './app.ts';
import { ConfigError, type OidcProviderConfig, parseConfig, parseOidcProviders } from './config.ts';
import { createApiKeyResolver } from './features/api-keys/service.ts';
import { createAccessTokens } from './features/auth/access-tokens.ts';
import { type BillingCatalog, loadBillingCatalog, syncBillingCatalog } from './features/billing/catalog.ts';
import { startManualPlanRenewals } from './features/billing/renewals.ts';
import { createStripeClient } from './features/billing/stripe.ts';
import { gatewayIdentity } from './features/events/realtime.ts';
import { pipelineGauges } from './features/health/metrics.ts';
import { createOidcSignIn } from './features/oidc/flow.ts';
import { createLogger, flushLogger } from './logger.ts';
import { devMailbox, smtpMailer } from './mail/mailer.ts';
import { transportBodyCap } from './plugins/body-limit.ts';
import {
  createRateLimiter,
  memoryRateLimitStore,
  rateLimitsFrom,
  redisRateLimitStore,
} from './plugins/rate-limit.ts';
import { connectRedis, redisReadiness } from './redis.ts';
import { loadOrCreateLocalSecret } from './secrets.ts';

function fail(message: string): never {
  console.error(`wrapper: cannot start.\n${message}`);
  process.exit(1);
}

let config: ReturnType<typeof parseConfig>;
let oidcProviders: OidcProviderConfig[];
let billingCatalog: BillingCatalog;
try {
  config = parseConfig(process.env);
  oidcProviders = parseOidcProviders(process.env, config.OIDC_PROVIDERS);
  billingCatalog = await loadBillingCatalog(config.BILLING_CATALOG);
} catch (error) {
  if (error instanceof ConfigError) fail(`${error.message}\nSee .env.example for every setting.`);
  throw error;
}

const logger = createLogger(config);
const embedded = !config.DATABASE_URL;
logger.info(
  {
    mode: embedded ? 'embedded' : 'services',
    database: embedded ? `pglite (${config.DATA_DIR})` : 'postgres',
    bus: config.REDIS_URL ? 'redis' : 'in-process',
  },
  embedded
    ? `Wrapper starting on the embedded default: PGlite in ${config.DATA_DIR}, in-process event bus, no services needed`
    : 'Wrapper starting with Postgres (DATABASE_URL)',
);

let database: Awaited<ReturnType<typeof openDatabase>>;
try {
  database = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolMax: config.DATABASE_POOL_MAX,
  });
} catch (error) {
  if (error instanceof DataDirInUseError) fail(error.message);
  const reason = error instanceof Error ? error.message : String(error);
  fail(`The database could not be opened${embedded ? '' : ' at DATABASE_URL'}: ${reason}`);
}

const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL) : null;
// Remembered access checks need one place every node sees: Redis, or the one process of the embedded
// database. Postgres without Redis may have several nodes, so every check runs in Postgres there.
const accessCacheStore = !config.ACCESS_CACHE
  ? null
  : redis
    ? redisAccessCacheStore(redis)
    : embedded
      ? memoryAccessCacheStore()
      : null;
// The realtime gateway checks sockets when access changes, possibly before the change's bump of the
// cache generation has landed: it asks Postgres directly.
const uncachedDatabase = database;
if (accessCacheStore) {
  database = withAccessCache(database, accessCacheStore, (error) =>
    logger.warn({ err: error }, 'access cache unavailable; checking in Postgres'),
  );
}

// Every change that takes access away is told to the realtime gateways of every node.
const accessSignal = redis ? redisAccessSignal(redis) : memoryAccessSignal();
database = withAccessSignal(database, accessSignal, (error) =>
  logger.warn({ err: error }, 'access change not signalled; sockets are re-checked periodically'),
);

// Committed events move from the outbox to the bus: Redis Streams with REDIS_URL, else in process.
const bus = redis ? redisEventBus(redis) : memoryEventBus();
const relay = createRelay({
  database,
  bus,
  onError: (error) => logger.warn({ err: error }, 'event relay: will retry'),
});

const secret = config.JWT_SECRET ?? loadOrCreateLocalSecret(config.DATA_DIR, 'jwt');
const tokens = createAccessTokens({ secret, ttlSeconds: config.JWT_ACCESS_TTL_SECONDS });
const rateLimitStore = redis ? redisRateLimitStore(redis) : memoryRateLimitStore();
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
const sessionPolicy = {
  refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
  maxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
};
const mailer = config.SMTP_URL
  ? smtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM })
  : devMailbox({ from: config.MAIL_FROM, logger });
if (!config.SMTP_URL && config.NODE_ENV === 'production') {
  logger.warn('SMTP_URL is not set: mail is only written to the log');
}
const gateway = createGateway({
  database,
  bus,
  identity: gatewayIdentity({ database: uncachedDatabase, tokens, apiKeys: createApiKeyResolver(database) }),
  accessSignal,
  logger,
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
const stripe = createStripeClient({ secretKey: config.STRIPE_SECRET_KEY, apiUrl: config.STRIPE_API_URL });
if (stripe && !config.STRIPE_WEBHOOK_SECRET) {
  logger.warn('STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET: payments will not be applied');
}
const app = createApp({
  config,
  mailer,
  appUrl,
  oidc,
  billing: {
    stripe,
    webhookSecret: config.STRIPE_WEBHOOK_SECRET ?? null,
    webhookToleranceSeconds: config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    appUrl,
  },
  invitationTtlHours: config.INVITATION_TTL_HOURS,
  devMailbox: !config.SMTP_URL && config.NODE_ENV !== 'production',
  database,
  tokens,
  sessionPolicy,
  rateLimits,
  logger,
  readinessChecks: redis ? [redisReadiness(redis)] : [],
  realtime: gateway,
  metrics: { token: config.METRICS_TOKEN, sources: pipelineGauges({ relay, bus, gateway }) },
});

let server: ReturnType<typeof app.listen>;
try {
  server = app.listen({
    hostname: config.HOST,
    port: config.PORT,
    // Socket.IO's WebSocket handlers; the idle timeout stays above its ping interval.
    ...gateway.serveOptions(),
    maxRequestBodySize: transportBodyCap(config.BODY_LIMIT_BYTES),
    idleTimeout: Math.max(60, gateway.serveOptions().idleTimeout),
    // Two nodes on one port would split traffic silently; a taken port must fail start-up instead.
    reusePort: false,
  });
} catch (error) {
  await database.close();
  const reason = error instanceof Error ? error.message : String(error);
  fail(
    `Cannot listen on ${config.HOST}:${config.PORT}: ${reason}. Is another process using the port? Set PORT.`,
  );
}
await relay.start();
const renewals = startManualPlanRenewals({ database, logger });
const pruning = startEventPruning({
  database,
  retentionDays: config.EVENTS_RETENTION_DAYS,
  onError: (error) => logger.error({ err: error }, 'pruning old events failed; retried later'),
});
logger.info(
  {
    url: `http://${config.HOST}:${server.server?.port}`,
    accessCache: accessCacheStore?.kind ?? 'off',
    bus: bus.kind,
  },
  'Wrapper is listening',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await gateway.close();
  await app.stop();
  await relay.stop();
  await renewals.stop();
  await pruning.stop();
  await bus.close();
  accessSignal.close();
  await database.close();
  rateLimitStore.close();
  redis?.disconnect();
  flushLogger(logger);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
