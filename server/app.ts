import { cors } from '@elysiajs/cors';
import type { Server } from 'bun';
import { Elysia } from 'elysia';
import type { Database } from '../db/client.ts';
import type { Config } from './config.ts';
import { accessRoutes } from './features/access/routes.ts';
import { accountRoutes } from './features/account/routes.ts';
import { adminRoutes } from './features/admin/routes.ts';
import { platformSetupRoutes } from './features/admin/setup-routes.ts';
import { apiKeyRoutes } from './features/api-keys/routes.ts';
import { createApiKeyResolver } from './features/api-keys/service.ts';
import { auditChainRoutes } from './features/audit/chain-routes.ts';
import { auditReadRoutes } from './features/audit/routes.ts';
import type { AuditSigner } from './features/audit/signing-key.ts';
import type { AccessTokens } from './features/auth/access-tokens.ts';
import { authRoutes } from './features/auth/routes.ts';
import { billingRoutes, stripeWebhookRoute } from './features/billing/routes.ts';
import type { BillingDeps } from './features/billing/stripe.ts';
import { creditRoutes } from './features/credits/routes.ts';
import { eventRoutes } from './features/events/routes.ts';
import { type GaugeSource, metricsRoutes } from './features/health/metrics.ts';
import { healthRoutes, type ReadinessCheck } from './features/health/routes.ts';
import { invitationRoutes } from './features/invitations/routes.ts';
import { memberRoutes } from './features/members/routes.ts';
import type { OidcSignIn } from './features/oidc/flow.ts';
import { oidcRoutes } from './features/oidc/routes.ts';
import { organizationRoutes } from './features/organizations/routes.ts';
import { sessionRoutes } from './features/sessions/routes.ts';
import type { SessionPolicy } from './features/sessions/service.ts';
import { tenantRoutes } from './features/tenant/routes.ts';
import { webhookRoutes } from './features/webhooks/routes.ts';
import type { TargetPolicy } from './features/webhooks/targets.ts';
import type { Logger } from './logger.ts';
import type { Mailer } from './mail/mailer.ts';
import { devMailboxRoutes } from './mail/routes.ts';
import { bodyLimit } from './plugins/body-limit.ts';
import { errorHandling } from './plugins/errors.ts';
import { openapiDocs } from './plugins/openapi-docs.ts';
import type { RateLimits } from './plugins/rate-limit.ts';
import { requestId } from './plugins/request-id.ts';
import { requestLogging } from './plugins/request-logging.ts';
import { staticApp } from './plugins/static-app.ts';
import { quietValidationErrors } from './plugins/validation-errors.ts';

export interface AppDeps {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT_BYTES' | 'APP_DIR'>;
  database: Database;
  tokens: AccessTokens;
  sessionPolicy: SessionPolicy;
  rateLimits: RateLimits;
  mailer: Mailer;
  /** Public URL of the app, for links in mail. */
  appUrl: string;
  invitationTtlHours: number;
  /** Expose the dev mailbox (no SMTP relay, not production). */
  devMailbox: boolean;
  logger: Logger;
  /** The key signing audit checkpoints (AUDIT_SIGNING_KEY). */
  auditSigner: AuditSigner;
  /** Stripe and where Checkout returns to; without it (or without a key) payments answer 503. */
  billing?: BillingDeps;
  /** The secret operator tokens are signed with (the access-token secret): `bun run admin:create`. */
  operatorSecret: string;
  /** Sign-in through OpenID Connect providers (none configured: the routes answer with no providers). */
  oidc: OidcSignIn;
  readinessChecks?: ReadinessCheck[];
  /** Where webhooks may go (WEBHOOK_ALLOW_PRIVATE_TARGETS, WEBHOOK_ALLOW_HTTP). */
  webhookTargets: TargetPolicy;
  /** Gauges for `GET /metrics` (relay lag, stream length, sockets), and its optional bearer token. */
  metrics?: { sources: GaugeSource[]; token?: string };
  /** The realtime gateway (Socket.IO at `/socket.io/` on the same port), when this node serves one. */
  realtime?: {
    handleRequest(request: Request, server: Server<unknown>): Response | undefined | Promise<Response>;
  };
}

/** The HTTP app: plugins and every feature's routes, over what the runtime (`runtime.ts`) built for it. */
export function createApp(deps: AppDeps) {
  const origins = deps.config.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  const app = staticApp(deps.config.APP_DIR);
  const features = {
    ...deps,
    apiKeys: createApiKeyResolver(deps.database),
    billing: deps.billing ?? {
      stripe: null,
      webhookSecret: null,
      webhookToleranceSeconds: 300,
      appUrl: deps.appUrl,
    },
  };

  // The app is served from the API's own origin; CORS is only for origins an operator lists.
  const crossOrigin =
    origins.length > 0
      ? cors({
          origin: origins,
          credentials: false,
          exposeHeaders: ['X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After'],
        })
      : new Elysia({ name: 'no-cors' });

  const api = new Elysia({ normalize: false })
    .use(requestId)
    .use(bodyLimit(deps.config.BODY_LIMIT_BYTES, { verbatimRoutes: [stripeWebhookRoute] }))
    .use(errorHandling(deps.logger, { database: deps.database }))
    .use(requestLogging(deps.logger))
    .use(crossOrigin)
    .use(openapiDocs())
    .use(healthRoutes({ database: deps.database, checks: deps.readinessChecks }))
    .use(metricsRoutes(deps.metrics ?? { sources: [] }))
    .use(authRoutes(features))
    .use(oidcRoutes(features))
    .use(sessionRoutes(features))
    .use(accessRoutes(features))
    .use(memberRoutes(features))
    .use(organizationRoutes(features))
    .use(apiKeyRoutes(features))
    .use(tenantRoutes(features))
    .use(adminRoutes(features))
    .use(platformSetupRoutes(features))
    .use(invitationRoutes(features))
    .use(accountRoutes(features))
    .use(eventRoutes(features))
    .use(creditRoutes(features))
    .use(billingRoutes(features))
    .use(auditChainRoutes(features))
    .use(auditReadRoutes(features))
    .use(webhookRoutes(features))
    .use(deps.devMailbox ? devMailboxRoutes(deps.mailer) : new Elysia({ name: 'no-dev-mailbox' }))
    .use(realtimeRoute(deps.realtime))
    .use(app.plugin);
  return quietValidationErrors(api);
}

/** Socket.IO's HTTP side (handshake, long-polling, the WebSocket upgrade) goes to the gateway. */
function realtimeRoute(gateway: AppDeps['realtime']) {
  const route = new Elysia({ name: 'realtime-route' });
  if (!gateway) return route;
  return route.all(
    '/socket.io/',
    ({ request, server }) => {
      if (!server) throw new Error('the realtime gateway needs a listening server');
      return gateway.handleRequest(request, server);
    },
    { detail: { hide: true } },
  );
}

export type App = ReturnType<typeof createApp>;
