import Stripe from 'stripe';
import { createApp } from '../app.ts';
import { startTestApp, type TestApp, testAppDeps } from '../testing/harness.ts';
import { type LocalStripe, startStripeServer } from '../testing/stripe-server.ts';
import type { FuzzCredentials } from './fuzz.ts';
import { bodySchemasOfRoutes, type FuzzOperation, type OpenApiDocument, operationsOf } from './operations.ts';

/** The body limit the fuzz target runs with (the production default). */
export const FUZZ_BODY_LIMIT_BYTES = 256 * 1024;

export interface FuzzTarget {
  app: TestApp;
  baseUrl: string;
  operations: FuzzOperation[];
  credentials: FuzzCredentials;
  /** Operations whose body schema came from the route table because the document has none. */
  bodiesFromRouteTable: string[];
  dispose(): Promise<void>;
}

/**
 * The app as production builds it, listening on a loopback port, with billing pointed at the local
 * Stripe server (so billing routes run their handlers rather than answering 503 not-configured), one
 * signed-up owner, and the operations of its own OpenAPI document.
 */
export async function startFuzzTarget(): Promise<FuzzTarget> {
  const stripe: LocalStripe = await startStripeServer();
  const app = await startTestApp({
    realtime: {},
    bodyLimitBytes: FUZZ_BODY_LIMIT_BYTES,
    billing: {
      stripe: new Stripe(stripe.secretKey, { ...stripe.sdkOptions, maxNetworkRetries: 0 }),
      webhookSecret: stripe.webhookSecret,
      webhookToleranceSeconds: 300,
    },
  });
  if (!app.baseUrl) throw new Error('the fuzz target must listen (startTestApp with realtime)');
  const owner = await app.signUp({ organizationName: 'Fuzz Corp' });
  let token = owner.token;
  const credentials: FuzzCredentials = {
    token: () => token,
    async renew() {
      const login = await app.request('POST', '/v1/auth/login', {
        body: { email: owner.email, password: owner.password, tenantId: owner.tenantId },
      });
      if (login.status !== 200)
        throw new Error(`the owner cannot sign in again: ${JSON.stringify(login.body)}`);
      token = login.body.accessToken;
    },
  };

  const document = (await app.request('GET', '/docs/json')).body as OpenApiDocument;
  // Until the document describes request bodies, the route table's TypeBox schemas stand in for them.
  const routeBodies = bodySchemasOfRoutes(createApp(testAppDeps(app.database)).routes);
  const operations = operationsOf(document, routeBodies);
  const fromDocument = operationsOf(document);
  const bodiesFromRouteTable = operations
    .filter((operation, index) => operation.body && !fromDocument[index]?.body)
    .map((operation) => operation.key);

  return {
    app,
    baseUrl: app.baseUrl,
    operations,
    credentials,
    bodiesFromRouteTable,
    async dispose() {
      await app.dispose();
      await stripe.close();
    },
  };
}
