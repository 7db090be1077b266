import { generateKeyPairSync } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import Redis from 'ioredis';
import postgres from 'postgres';
import {
  type AccessCacheStore,
  memoryAccessCacheStore,
  redisAccessCacheStore,
} from '../../db/access-cache.ts';
import { type Database, openDatabase } from '../../db/client.ts';
import { type AuditEntryRow, auditEntries, memberships, roleAssignments } from '../../db/schema/index.ts';
import { withTenant } from '../../db/tenant.ts';
import type { EventBus } from '../../realtime/bus.ts';
import type { Gateway } from '../../realtime/gateway.ts';
import type { Relay } from '../../realtime/relay.ts';
import { type Config, type OidcProviderConfig, parseConfig } from '../config.ts';
import { builtInRoles } from '../features/access/permissions.ts';
import { ChainVerifier } from '../features/audit/chain.ts';
import { toAuditEntry } from '../features/audit/service.ts';
import { generateAuditSigningKey } from '../features/audit/signing-key.ts';
import type { AccessTokens } from '../features/auth/access-tokens.ts';
import { type BillingCatalog, builtInCatalog } from '../features/billing/catalog.ts';
import type { BillingDeps } from '../features/billing/stripe.ts';
import { createLogger, type Logger } from '../logger.ts';
import { devMailbox, type Mailer } from '../mail/mailer.ts';
import { memoryRateLimitStore, type RateLimitStore } from '../plugins/rate-limit.ts';
import { createRuntime, type Runtime } from '../runtime.ts';

/** Settings of the test run itself (DATABASE_URL selects Postgres; otherwise PGlite in memory). */
export const testConfig = parseConfig({ ...process.env, NODE_ENV: 'test' });
export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
/** The audit signing key of this test run (made here: no key file in a data folder). */
export const TEST_AUDIT_SIGNING_KEY = generateAuditSigningKey();
/** The public URL the test app believes it has (links in mail, OpenID Connect callbacks). */
export const TEST_APP_URL = 'http://app.wrapper.test';
export const testSessionPolicy = { refreshTtlSeconds: 3600, maxAgeSeconds: 86_400 };

export interface TestDatabase {
  database: Database;
  /** Drops the per-file Postgres database (no-op for PGlite). */
  dispose(): Promise<void>;
}

/** A fresh, migrated database per test file: PGlite in memory, or a new Postgres database. */
export async function openTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const baseUrl = testConfig.DATABASE_URL;
  if (!baseUrl) {
    const database = await openDatabase({ dataDir: '', inMemory: true });
    return { database, dispose: () => database.close() };
  }
  const name = `wrapper_test_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '', poolMax: options.poolMax ?? 8 });
  return {
    database,
    async dispose() {
      await database.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export interface TestApp {
  database: Database;
  tokens: AccessTokens;
  /** With `realtime`: where the app listens, and its event pipeline. */
  baseUrl?: string;
  realtime?: { bus: EventBus; relay: Relay; gateway: Gateway };
  /** The app's own handler, for a request built by the test (any URL host is accepted). */
  handle(request: Request): Promise<Response>;
  /** The app's routes, as Elysia lists them. */
  routes(): Runtime['app']['routes'];
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: any }>;
  signUp(overrides?: Partial<SignupInput>, headers?: Record<string, string>): Promise<SignedUp>;
  dispose(): Promise<void>;
}

export interface SignupInput {
  email: string;
  password: string;
  name: string;
  organizationName: string;
}

export interface SignedUp {
  token: string;
  refreshToken: string;
  userId: string;
  tenantId: string;
  rootOrganizationId: string;
  email: string;
  password: string;
}

export function uniqueEmail(label = 'person'): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}@example.test`;
}

export interface TestAppOptions {
  bodyLimitBytes?: number;
  corsOrigins?: string;
  /** Rate limits per minute; all off unless a test sets them. */
  rateLimits?: {
    authPerMinute?: number;
    tenantPerMinute?: number;
    apiKeyPerMinute?: number;
    trustProxy?: boolean;
  };
  rateLimitStore?: RateLimitStore;
  logger?: Logger;
  mailer?: Mailer;
  oidcProviders?: OidcProviderConfig[];
  /**
   * Where passed access checks are remembered. By default as production does it: in Redis when the run
   * has REDIS_URL, else in process; `null` turns the cache off.
   */
  accessCacheStore?: AccessCacheStore | null;
  /**
   * Serve the realtime gateway too: the app then listens on a free loopback port (`baseUrl`), with an
   * event bus (Redis Streams when the run has REDIS_URL, else in process) and a relay.
   */
  realtime?: { reauthGraceMs?: number; revalidateMs?: number; replayLimit?: number };
  /** Bearer token for GET /metrics. */
  metricsToken?: string;
  /** Stripe for billing (e.g. a client of the local Stripe server); none by default, as without a key. */
  billing?: Partial<BillingDeps>;
  /** Postgres connections of the app (8 by default). */
  poolMax?: number;
  /** The plans and packs synced into the database; the built-in catalog by default. */
  billingCatalog?: BillingCatalog;
  /** AUDIT_SIGNING_KEY (base64 PKCS#8 DER); this run's `TEST_AUDIT_SIGNING_KEY` by default. */
  auditSigningKey?: string;
  /** AUDIT_PREVIOUS_PUBLIC_KEYS (keys of before a rotation); none by default. */
  auditPreviousPublicKeys?: string;
  /**
   * Outgoing webhooks: as production (https only, no private targets) unless a test opens them to its
   * loopback receivers, and with a schedule, timeout and leases short enough for a test.
   */
  webhooks?: {
    allowPrivate?: boolean;
    allowHttp?: boolean;
    timeoutSeconds?: number;
    /** WEBHOOK_RETRY_SCHEDULE, seconds comma-separated. */
    retrySchedule?: string;
    disableAfterDays?: number;
    concurrency?: number;
    node?: string;
    pollMs?: number;
  };
}

/** The access cache production would use for this run's engines. */
export function defaultTestAccessCacheStore(): AccessCacheStore {
  return testConfig.REDIS_URL ? redisAccessCacheStore(testRedis()) : memoryAccessCacheStore();
}

let sharedRedis: Redis | null = null;
/** One Redis connection for the test file (REDIS_URL of the run). */
export function testRedis(): Redis {
  if (!testConfig.REDIS_URL) throw new Error('REDIS_URL is not set');
  sharedRedis ??= new Redis(testConfig.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
  return sharedRedis;
}

/**
 * The settings of a test app: the run's engines (Redis only with `withRedis`), test-sized limits, rate
 * limits off unless the test sets them, mail to the dev mailbox, no Stripe unless the test gives one.
 */
export function testAppConfig(options: TestAppOptions = {}, withRedis = false): Config {
  const limits = options.rateLimits ?? {};
  return {
    ...testConfig,
    REDIS_URL: withRedis ? testConfig.REDIS_URL : undefined,
    CORS_ORIGINS: options.corsOrigins ?? '',
    BODY_LIMIT_BYTES: options.bodyLimitBytes ?? 256 * 1024,
    APP_DIR: '/nonexistent',
    APP_URL: TEST_APP_URL,
    JWT_SECRET: TEST_SECRET,
    AUDIT_SIGNING_KEY: options.auditSigningKey ?? TEST_AUDIT_SIGNING_KEY,
    AUDIT_PREVIOUS_PUBLIC_KEYS: options.auditPreviousPublicKeys ?? '',
    JWT_ACCESS_TTL_SECONDS: 900,
    REFRESH_TOKEN_TTL_SECONDS: testSessionPolicy.refreshTtlSeconds,
    SESSION_MAX_AGE_SECONDS: testSessionPolicy.maxAgeSeconds,
    INVITATION_TTL_HOURS: 24,
    RATE_LIMIT_AUTH_PER_MINUTE: limits.authPerMinute ?? 0,
    RATE_LIMIT_TENANT_PER_MINUTE: limits.tenantPerMinute ?? 0,
    RATE_LIMIT_API_KEY_PER_MINUTE: limits.apiKeyPerMinute ?? 0,
    TRUST_PROXY: limits.trustProxy ?? false,
    METRICS_TOKEN: options.metricsToken,
    SMTP_URL: undefined,
    MAIL_FROM: 'Wrapper <test@wrapper.test>',
    STRIPE_SECRET_KEY: undefined,
    STRIPE_WEBHOOK_SECRET: undefined,
    BILLING_CATALOG: undefined,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: options.webhooks?.allowPrivate ?? false,
    WEBHOOK_ALLOW_HTTP: options.webhooks?.allowHttp ?? false,
    WEBHOOK_TIMEOUT_SECONDS: options.webhooks?.timeoutSeconds ?? testConfig.WEBHOOK_TIMEOUT_SECONDS,
    WEBHOOK_RETRY_SCHEDULE: options.webhooks?.retrySchedule ?? testConfig.WEBHOOK_RETRY_SCHEDULE,
    WEBHOOK_DISABLE_AFTER_DAYS: options.webhooks?.disableAfterDays ?? testConfig.WEBHOOK_DISABLE_AFTER_DAYS,
    WEBHOOK_CONCURRENCY: options.webhooks?.concurrency ?? testConfig.WEBHOOK_CONCURRENCY,
  };
}

const silentLogger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

/**
 * The runtime production builds (`createRuntime`), on `database` with test settings; not started. With
 * `realtime` it gets this run's Redis (keys of its own) and quick polls, ready to `start` on a port.
 */
export function testRuntime(database: Database, options: TestAppOptions = {}): Promise<Runtime> {
  const withRedis = Boolean(options.realtime && testConfig.REDIS_URL);
  const run = crypto.randomUUID();
  return createRuntime(testAppConfig(options, withRedis), options.oidcProviders ?? [], {
    database,
    logger: options.logger ?? silentLogger,
    mailer: options.mailer ?? devMailbox({ from: 'Wrapper <test@wrapper.test>', logger: silentLogger }),
    billingCatalog: options.billingCatalog ?? builtInCatalog,
    billing: { stripe: null, webhookSecret: null, webhookToleranceSeconds: 300, ...options.billing },
    rateLimitStore: options.rateLimitStore ?? memoryRateLimitStore(),
    accessCacheStore:
      options.accessCacheStore === undefined ? defaultTestAccessCacheStore() : options.accessCacheStore,
    redisKeys: { events: `wr:test:events:${run}`, accessSignal: `wr:test:access:${run}` },
    busBlockMs: 200,
    relayPollMs: 250,
    gateway: options.realtime,
    webhooks: {
      node: options.webhooks?.node,
      pollMs: options.webhooks?.pollMs ?? 200,
    },
    onDecoratorError: (error: unknown) => {
      throw error;
    },
  });
}

/** The real app, built by the same `createRuntime` as production, answering through `app.handle`. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const opened = await openTestDatabase({ poolMax: options.poolMax });
  const runtime = await testRuntime(opened.database, options);
  const { app, database, tokens } = runtime;
  // With `realtime` the app listens on a free loopback port and its relay, consumers and jobs run.
  const baseUrl = options.realtime ? await runtime.start({ hostname: '127.0.0.1', port: 0 }) : undefined;
  const dispose = async () => {
    await runtime.stop({ closeConnections: true });
    await opened.dispose();
  };

  const request: TestApp['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      // As any HTTP client would; a Request built in memory does not add it by itself.
      headers['content-length'] ??= String(new TextEncoder().encode(body).byteLength);
    }
    const response = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await response.text();
    let parsed: unknown = text;
    // JSON answers (also problem+json), not NDJSON streams.
    const type = response.headers.get('content-type') ?? '';
    if (/^application\/([\w.+-]*\+)?json\b/.test(type) && text) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed };
  };

  return {
    database,
    tokens,
    ...(baseUrl
      ? { baseUrl, realtime: { bus: runtime.bus, relay: runtime.relay, gateway: runtime.gateway } }
      : {}),
    handle: (incoming) => app.handle(incoming),
    routes: () => app.routes,
    request,
    async signUp(overrides = {}, headers = {}) {
      const input = {
        email: uniqueEmail(),
        password: 'correct horse battery',
        name: 'Test Person',
        organizationName: 'Test Org',
        ...overrides,
      };
      const response = await request('POST', '/v1/auth/signup', { body: input, headers });
      if (response.status !== 201) throw new Error(`signup failed: ${JSON.stringify(response.body)}`);
      return {
        token: response.body.accessToken,
        refreshToken: response.body.refreshToken,
        userId: response.body.user.id,
        tenantId: response.body.tenant.id,
        rootOrganizationId: response.body.organization.id,
        email: input.email,
        password: input.password,
      };
    },
    dispose,
  };
}

/**
 * A new person made a member of `tenantId` with one built-in role, signed in to that tenant: for tests
 * of what a role may and may not do.
 */
export async function joinWithRole(
  app: TestApp,
  tenantId: string,
  role: keyof typeof builtInRoles,
): Promise<SignedUp> {
  const person = await app.signUp();
  await withTenant(app.database, tenantId, async (db) => {
    await db.insert(memberships).values({ tenantId, userId: person.userId });
    await db
      .insert(roleAssignments)
      .values({ tenantId, userId: person.userId, roleId: builtInRoles[role].id });
  });
  return { ...person, tenantId, ...(await signIn(app, person, tenantId)) };
}

/** Signs `person` in again (a new session), to `tenantId` or their first tenant. */
export async function signIn(
  app: TestApp,
  person: Pick<SignedUp, 'email' | 'password'>,
  tenantId?: string,
): Promise<{ token: string; refreshToken: string }> {
  const login = await app.request('POST', '/v1/auth/login', {
    body: { email: person.email, password: person.password, ...(tenantId ? { tenantId } : {}) },
  });
  if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  return { token: login.body.accessToken, refreshToken: login.body.refreshToken };
}

/** The audit entries of `tenantId`, oldest first, read straight from the table in that tenant. */
export function auditEntriesOf(database: Database, tenantId: string): Promise<AuditEntryRow[]> {
  return withTenant(database, tenantId, (db) =>
    db.select().from(auditEntries).where(eq(auditEntries.tenantId, tenantId)).orderBy(asc(auditEntries.seq)),
  );
}

/** Whether every link of the tenant's audit chain recomputes (no checkpoints needed for that). */
export async function chainVerifies(database: Database, tenantId: string): Promise<boolean> {
  const verifier = new ChainVerifier({
    tenantId,
    checkpoints: [],
    publicKey: generateKeyPairSync('ed25519').publicKey,
  });
  for (const row of await auditEntriesOf(database, tenantId)) verifier.add(toAuditEntry(row));
  return verifier.finish().valid;
}
