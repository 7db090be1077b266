import { type Static, Type as t } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { auditPublicKeysProblem, auditSigningKeyProblem } from './features/audit/signing-key.ts';

const postgresUrl = t.String({
  pattern: '^postgres(ql)?://\\S+$',
  description: 'Postgres connection URL; when unset the embedded PGlite database in DATA_DIR is used',
});
const redisUrl = t.String({
  pattern: '^rediss?://\\S+$',
  description: 'Redis URL; enables the Redis event bus',
});

/** Every setting Wrapper reads from the environment. Nothing else reads `process.env`. */
export const ConfigSchema = t.Object({
  NODE_ENV: t.Union([t.Literal('development'), t.Literal('test'), t.Literal('production')], {
    default: 'development',
  }),
  HOST: t.String({ minLength: 1, default: '0.0.0.0', description: 'Interface to listen on' }),
  PORT: t.Integer({
    minimum: 0,
    maximum: 65535,
    default: 3000,
    description: 'HTTP port (API, app, realtime)',
  }),
  DATABASE_URL: t.Optional(postgresUrl),
  DATABASE_POOL_MAX: t.Integer({ minimum: 1, maximum: 1000, default: 20, description: 'Postgres pool size' }),
  DATA_DIR: t.String({ minLength: 1, default: './data', description: 'Embedded database and local secrets' }),
  REDIS_URL: t.Optional(redisUrl),
  JWT_SECRET: t.Optional(
    t.String({
      minLength: 32,
      description: 'HMAC key for access tokens; generated into DATA_DIR when unset',
    }),
  ),
  JWT_ACCESS_TTL_SECONDS: t.Integer({ minimum: 60, maximum: 86_400, default: 900 }),
  REFRESH_TOKEN_TTL_SECONDS: t.Integer({
    minimum: 300,
    maximum: 31_536_000,
    default: 2_592_000,
    description: 'A refresh token unused for this long expires (idle timeout)',
  }),
  SESSION_MAX_AGE_SECONDS: t.Integer({
    minimum: 300,
    maximum: 31_536_000,
    default: 7_776_000,
    description: 'A session ends this long after sign-in (absolute timeout)',
  }),
  RATE_LIMIT_AUTH_PER_MINUTE: t.Integer({
    minimum: 0,
    default: 20,
    description: 'Sign-up, sign-in and refresh requests per client IP per minute (0: off)',
  }),
  RATE_LIMIT_TENANT_PER_MINUTE: t.Integer({
    minimum: 0,
    default: 6000,
    description: 'Requests per tenant per minute with access tokens (0: off)',
  }),
  RATE_LIMIT_API_KEY_PER_MINUTE: t.Integer({
    minimum: 0,
    default: 1200,
    description: 'Requests per API key per minute (0: off)',
  }),
  TRUST_PROXY: t.Boolean({
    default: false,
    description: 'Take the client IP from X-Forwarded-For (only behind a proxy that sets it)',
  }),
  SMTP_URL: t.Optional(
    t.String({
      pattern: '^smtps?://\\S+$',
      description: 'SMTP relay, e.g. smtp://user:pass@mail.example.com:587; unset = log and dev mailbox',
    }),
  ),
  MAIL_FROM: t.String({ minLength: 3, default: 'Wrapper <no-reply@wrapper.localhost>' }),
  APP_URL: t.Optional(
    t.String({ pattern: '^https?://\\S+$', description: 'Public URL of the app, for links in emails' }),
  ),
  INVITATION_TTL_HOURS: t.Integer({ minimum: 1, maximum: 24 * 90, default: 24 * 7 }),
  METRICS_TOKEN: t.Optional(
    t.String({
      minLength: 16,
      description: 'Bearer token for GET /metrics; unset = open (internal network only)',
    }),
  ),
  ACCESS_CACHE: t.Boolean({
    default: true,
    description:
      'Remember passed access checks (in process on the embedded database, in Redis with REDIS_URL; off with Postgres and no Redis)',
  }),
  OIDC_PROVIDERS: t.String({
    default: '',
    pattern: '^[a-z0-9-,\\s]*$',
    description:
      'Comma-separated ids of OpenID Connect providers for sign-in, e.g. `google,kinde`; each id needs OIDC_<ID>_ISSUER, OIDC_<ID>_CLIENT_ID and OIDC_<ID>_CLIENT_SECRET (optional OIDC_<ID>_NAME, OIDC_<ID>_SCOPES)',
  }),
  EVENTS_RETENTION_DAYS: t.Integer({
    minimum: 1,
    maximum: 3650,
    default: 30,
    description:
      'Events (the replay log behind GET /v1/events and realtime resume) are kept this long once relayed',
  }),
  AUDIT_SIGNING_KEY: t.Optional(
    t.String({
      minLength: 40,
      description:
        'Ed25519 private key signing audit checkpoints: base64 of its PKCS#8 DER (`openssl genpkey -algorithm ed25519 -outform DER | base64 -w0`), or its PEM with the line breaks written as \\n; generated into DATA_DIR when unset; required in production',
    }),
  ),
  AUDIT_PREVIOUS_PUBLIC_KEYS: t.String({
    default: '',
    description:
      'After a rotation of AUDIT_SIGNING_KEY: the public keys of earlier signing keys, comma-separated (base64 of SPKI DER, or PEM with \\n), so their checkpoints still verify',
  }),
  AUDIT_CHECKPOINT_INTERVAL_SECONDS: t.Integer({
    minimum: 10,
    maximum: 86_400,
    default: 300,
    description:
      'How often each tenant whose audit chain moved gets a signed checkpoint (stored and written to the log)',
  }),
  AUDIT_RETENTION_DAYS: t.Optional(
    t.Integer({
      minimum: 1,
      maximum: 36_500,
      description:
        'Audit entries older than this are pruned below a signed retention checkpoint (what remains still verifies); unset = kept forever',
    }),
  ),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: t.Boolean({
    default: false,
    description:
      'Let webhooks reach loopback, private, link-local and metadata addresses (local development and tests only)',
  }),
  WEBHOOK_ALLOW_HTTP: t.Boolean({
    default: false,
    description: 'Accept plain http:// webhook URLs besides https:// (local development and tests only)',
  }),
  WEBHOOK_TIMEOUT_SECONDS: t.Integer({
    minimum: 1,
    maximum: 60,
    default: 15,
    description: 'How long one webhook attempt may take, connection to the end of the answer',
  }),
  WEBHOOK_RETRY_SCHEDULE: t.String({
    pattern: '^\\d+(\\.\\d+)?(,\\d+(\\.\\d+)?)*$',
    default: '5,300,1800,7200,18000,36000,36000',
    description:
      'Seconds between a failed webhook attempt and the next, comma-separated (±20 % jitter); after the last a message is given up',
  }),
  WEBHOOK_CONCURRENCY: t.Integer({
    minimum: 1,
    maximum: 512,
    default: 32,
    description: 'Webhook attempts in flight at once on each node',
  }),
  WEBHOOK_DISABLE_AFTER_DAYS: t.Number({
    exclusiveMinimum: 0,
    maximum: 365,
    default: 5,
    description: 'An endpoint whose every attempt has failed this long is disabled',
  }),
  STRIPE_SECRET_KEY: t.Optional(
    t.String({
      pattern: '^(sk|rk)_(test|live)_\\S+$',
      description: 'Stripe secret (or restricted) key; unset = Checkout, Portal and webhooks answer 503',
    }),
  ),
  STRIPE_WEBHOOK_SECRET: t.Optional(
    t.String({
      pattern: '^whsec_\\S+$',
      description: 'Signing secret of the Stripe webhook endpoint (POST /v1/billing/stripe/webhook)',
    }),
  ),
  STRIPE_API_URL: t.Optional(
    t.String({
      pattern: '^https?://\\S+$',
      description: "Where Stripe's API is (default Stripe itself); e.g. a local Stripe-compatible server",
    }),
  ),
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: t.Integer({
    minimum: 10,
    maximum: 3600,
    default: 300,
    description: 'A Stripe webhook signed longer ago than this is refused (replay protection)',
  }),
  BILLING_CATALOG: t.Optional(
    t.String({
      minLength: 1,
      description:
        'JSON file with the plans and credit packs (and their Stripe prices); unset = the built-in catalog, which Checkout cannot sell',
    }),
  ),
  LOG_LEVEL: t.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => t.Literal(level)),
    { default: 'info' },
  ),
  LOG_FORMAT: t.Union([t.Literal('json'), t.Literal('ecs'), t.Literal('pretty')], { default: 'json' }),
  CORS_ORIGINS: t.String({
    default: '',
    description: 'Comma-separated origins allowed by CORS; empty = same origin',
  }),
  BODY_LIMIT_BYTES: t.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 256 * 1024 }),
  APP_DIR: t.String({ default: 'app/build', description: 'Built SvelteKit app served on the same port' }),
});

const SECRET_SETTINGS = new Set([
  'JWT_SECRET',
  'DATABASE_URL',
  'REDIS_URL',
  'SMTP_URL',
  'METRICS_TOKEN',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'AUDIT_SIGNING_KEY',
]);

export type Config = Static<typeof ConfigSchema>;

/** An OpenID Connect provider people may sign in with. */
export interface OidcProviderConfig {
  /** Lower-case id used in URLs: `/v1/auth/oidc/<id>/start`. */
  id: string;
  /** Shown on the sign-in button. */
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
}

const OIDC_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The providers listed in OIDC_PROVIDERS, each from its own OIDC_<ID>_* settings (`-` in an id becomes
 * `_`). Every problem is reported at once; secrets are never echoed. Issuers must be https, except on
 * loopback (a provider on the same machine, e.g. in development).
 */
export function parseOidcProviders(env: Env, list: string): OidcProviderConfig[] {
  const ids = list
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const problems: string[] = [];
  const providers: OidcProviderConfig[] = [];
  for (const id of new Set(ids)) {
    if (!OIDC_ID.test(id)) {
      problems.push(`OIDC_PROVIDERS: "${id}" is not a valid id (a-z, 0-9 and -, at most 32 characters)`);
      continue;
    }
    const prefix = `OIDC_${id.toUpperCase().replaceAll('-', '_')}_`;
    const read = (name: string) => env[prefix + name]?.trim() || undefined;
    const issuer = read('ISSUER');
    const clientId = read('CLIENT_ID');
    const clientSecret = read('CLIENT_SECRET');
    if (!issuer) problems.push(`${prefix}ISSUER: required for the "${id}" provider`);
    else {
      let url: URL | null = null;
      try {
        url = new URL(issuer);
      } catch {
        problems.push(`${prefix}ISSUER: not a URL (got ${JSON.stringify(issuer)})`);
      }
      if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))
        problems.push(`${prefix}ISSUER: must be an https URL (got ${JSON.stringify(issuer)})`);
    }
    if (!clientId) problems.push(`${prefix}CLIENT_ID: required for the "${id}" provider`);
    if (!clientSecret) problems.push(`${prefix}CLIENT_SECRET: required for the "${id}" provider`);
    const scopes = read('SCOPES') ?? 'openid email profile';
    if (!scopes.split(/\s+/).includes('openid'))
      problems.push(`${prefix}SCOPES: must include openid (got ${JSON.stringify(scopes)})`);
    if (issuer && clientId && clientSecret) {
      providers.push({
        id,
        name: read('NAME') ?? id.charAt(0).toUpperCase() + id.slice(1),
        issuer,
        clientId,
        clientSecret,
        scopes,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return providers;
}
type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once. Empty strings count as unset; numbers are converted;
 * every problem is reported at once so an operator fixes them in one go.
 */
export function parseConfig(env: Env): Config {
  const known = Object.keys(ConfigSchema.properties);
  const input: Record<string, unknown> = {};
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, input));
  const problems = [...Value.Errors(ConfigSchema, converted)].map((error) => {
    const key = error.path.replace(/^\//, '') || '(root)';
    // URLs and secrets may carry credentials: name the setting, never echo its value.
    const shown = SECRET_SETTINGS.has(key) ? '(hidden)' : input[key];
    return `${key}: ${error.message}${shown === undefined ? '' : ` (got ${JSON.stringify(shown)})`}`;
  });
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  const config = converted as Static<typeof ConfigSchema>;
  const required: string[] = [];
  if (config.NODE_ENV === 'production' && !config.JWT_SECRET) {
    required.push('JWT_SECRET: required when NODE_ENV=production (at least 32 characters)');
  }
  if (config.NODE_ENV === 'production' && !config.AUDIT_SIGNING_KEY) {
    required.push(
      'AUDIT_SIGNING_KEY: required when NODE_ENV=production (an Ed25519 private key: base64 of its PKCS#8 DER, see .env.example)',
    );
  }
  if (config.AUDIT_SIGNING_KEY) {
    const problem = auditSigningKeyProblem(config.AUDIT_SIGNING_KEY);
    if (problem) required.push(`AUDIT_SIGNING_KEY: ${problem} (hidden)`);
  }
  const previousKeys = auditPublicKeysProblem(config.AUDIT_PREVIOUS_PUBLIC_KEYS);
  if (previousKeys) required.push(`AUDIT_PREVIOUS_PUBLIC_KEYS: ${previousKeys}`);
  if (required.length > 0) throw new ConfigError(required);
  return config;
}
