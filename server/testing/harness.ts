import postgres from 'postgres';
import { type Database, openDatabase } from '../../db/client.ts';
import { createApp } from '../app.ts';
import { parseConfig } from '../config.ts';
import { type AccessTokens, createAccessTokens } from '../features/auth/access-tokens.ts';
import { createLogger } from '../logger.ts';

/** Settings of the test run itself (DATABASE_URL selects Postgres; otherwise PGlite in memory). */
export const testConfig = parseConfig({ ...process.env, NODE_ENV: 'test' });
export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
export const testSessionPolicy = { refreshTtlSeconds: 3600, maxAgeSeconds: 86_400 };

export interface TestDatabase {
  database: Database;
  /** Drops the per-file Postgres database (no-op for PGlite). */
  dispose(): Promise<void>;
}

/** A fresh, migrated database per test file: PGlite in memory, or a new Postgres database. */
export async function openTestDatabase(): Promise<TestDatabase> {
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
  const database = await openDatabase({ url: url.toString(), dataDir: '', poolMax: 8 });
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
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: any }>;
  signUp(overrides?: Partial<SignupInput>): Promise<SignedUp>;
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

/** The real app, built by the same `createApp` as production, answering through `app.handle`. */
export async function startTestApp(options: { bodyLimitBytes?: number } = {}): Promise<TestApp> {
  const { database, dispose } = await openTestDatabase();
  const tokens = createAccessTokens({ secret: TEST_SECRET, ttlSeconds: 900 });
  const app = createApp({
    config: {
      CORS_ORIGINS: '',
      BODY_LIMIT_BYTES: options.bodyLimitBytes ?? 256 * 1024,
      APP_DIR: '/nonexistent',
    },
    database,
    tokens,
    sessionPolicy: testSessionPolicy,
    logger: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
  });

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
    if ((response.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed };
  };

  return {
    database,
    tokens,
    request,
    async signUp(overrides = {}) {
      const input = {
        email: uniqueEmail(),
        password: 'correct horse battery',
        name: 'Test Person',
        organizationName: 'Test Org',
        ...overrides,
      };
      const response = await request('POST', '/v1/auth/signup', { body: input });
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
