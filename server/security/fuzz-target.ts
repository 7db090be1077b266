import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import Stripe from 'stripe';
import { startTestApp, testConfig, uniqueEmail } from '../testing/harness.ts';
import { startServerProcess } from '../testing/server-process.ts';
import { type LocalStripe, startStripeServer } from '../testing/stripe-server.ts';
import type { FuzzCredentials } from './fuzz.ts';
import { type DocumentedOperation, type OpenApiDocument, operationsOf } from './operations.ts';

/** The body limit the fuzz target runs with (the production default). */
export const FUZZ_BODY_LIMIT_BYTES = 256 * 1024;

export interface FuzzTarget {
  baseUrl: string;
  operations: DocumentedOperation[];
  /** How many operations the document lists (every one must be fuzzed). */
  documented: number;
  credentials: FuzzCredentials;
  /** The owner's user id, tenant id and root organization id. */
  knownIds: string[];
  dispose(): Promise<void>;
}

async function postJson(url: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * What a run needs from a listening server: an owner signed up over HTTP (signed in again when a
 * logout variant ends the session) and the operations of the server's own OpenAPI document.
 */
async function prepare(baseUrl: string, dispose: () => Promise<void>): Promise<FuzzTarget> {
  const owner = { email: uniqueEmail('fuzz-owner'), password: 'correct horse battery' };
  const signup = await postJson(`${baseUrl}/v1/auth/signup`, {
    ...owner,
    name: 'Fuzz Owner',
    organizationName: 'Fuzz Corp',
  });
  if (signup.status !== 201) throw new Error(`the fuzz owner cannot sign up: ${JSON.stringify(signup.body)}`);
  let token: string = signup.body.accessToken;
  const tenantId: string = signup.body.tenant.id;
  const permissions = await fetch(`${baseUrl}/v1/permissions`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const scopes = ((await permissions.json()) as { items: Array<{ key: string }> }).items.map(
    (item) => item.key,
  );
  const key = await fetch(`${baseUrl}/v1/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'fuzz', scopes }),
  });
  const created = (await key.json()) as { secret?: string };
  if (key.status !== 201 || !created.secret)
    throw new Error(`no API key for the fuzz owner: ${JSON.stringify(created)}`);
  const credentials: FuzzCredentials = {
    token: () => token,
    apiKey: created.secret,
    async renew() {
      const login = await postJson(`${baseUrl}/v1/auth/login`, { ...owner, tenantId });
      if (login.status !== 200)
        throw new Error(`the fuzz owner cannot sign in: ${JSON.stringify(login.body)}`);
      token = login.body.accessToken;
    },
  };
  const document = (await (await fetch(`${baseUrl}/docs/json`)).json()) as OpenApiDocument;
  const operations = operationsOf(document);
  return {
    baseUrl,
    operations,
    documented: Object.values(document.paths).reduce((sum, path) => sum + Object.keys(path).length, 0),
    credentials,
    knownIds: [signup.body.user.id, tenantId, signup.body.organization.id],
    dispose,
  };
}

const stripeClientOf = (stripe: LocalStripe) =>
  new Stripe(stripe.secretKey, { ...stripe.sdkOptions, maxNetworkRetries: 0 });

/**
 * The app built by the test harness (the same `createApp`, per-file database, rate limits off),
 * listening on a loopback port, with billing pointed at the local Stripe server so billing routes run
 * their handlers rather than answering 503 not-configured.
 */
export async function startFuzzTarget(): Promise<FuzzTarget> {
  const stripe = await startStripeServer();
  const app = await startTestApp({
    realtime: {},
    bodyLimitBytes: FUZZ_BODY_LIMIT_BYTES,
    billing: {
      stripe: stripeClientOf(stripe),
      webhookSecret: stripe.webhookSecret,
      webhookToleranceSeconds: 300,
    },
  });
  if (!app.baseUrl) throw new Error('the fuzz target must listen (startTestApp with realtime)');
  return prepare(app.baseUrl, async () => {
    await app.dispose();
    await stripe.close();
  });
}

/**
 * The production boot (`bun server/main.ts`, development mode) in its own process, so the probe and
 * the fuzzer's own work do not share its event loop: embedded database in a fresh folder, or a fresh
 * database on the run's Postgres; Stripe at the local server; rate limits off (the fuzzer is one IP).
 */
export async function startFuzzServerProcess(): Promise<FuzzTarget> {
  const stripe = await startStripeServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'wrapper-fuzz-'));
  const databaseName = `wrapper_fuzz_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = testConfig.DATABASE_URL
    ? postgres(testConfig.DATABASE_URL, { max: 1, onnotice: () => {} })
    : null;
  let databaseUrl: string | undefined;
  if (admin && testConfig.DATABASE_URL) {
    await admin.unsafe(`create database ${databaseName}`);
    databaseUrl = Object.assign(new URL(testConfig.DATABASE_URL), {
      pathname: `/${databaseName}`,
    }).toString();
  }
  const server = await startServerProcess({
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    REDIS_URL: testConfig.REDIS_URL,
    BODY_LIMIT_BYTES: String(FUZZ_BODY_LIMIT_BYTES),
    RATE_LIMIT_AUTH_PER_MINUTE: '0',
    RATE_LIMIT_TENANT_PER_MINUTE: '0',
    RATE_LIMIT_API_KEY_PER_MINUTE: '0',
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
    STRIPE_API_URL: stripe.url,
    LOG_LEVEL: 'silent',
  });
  return prepare(server.baseUrl, async () => {
    await server.stop();
    await stripe.close();
    await rm(dataDir, { recursive: true, force: true });
    if (admin) {
      await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
      await admin.end();
    }
  });
}
