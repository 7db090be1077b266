import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import { createLogger } from '../../logger.ts';
import {
  type SignedUp,
  startTestApp,
  TEST_APP_URL,
  TEST_SECRET,
  type TestApp,
  testConfig,
} from '../../testing/harness.ts';
import { projectRoot, type ServerProcess, startServerProcess } from '../../testing/server-process.ts';
import { signOperatorToken } from './operator-token.ts';
import { offerPlatformSetup } from './setup.ts';

// The first platform admin: a one-time link printed at start while there is none (as PocketBase does
// for its first superuser), and `bun run admin:create`, also while the server holds the embedded database.

const silent = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

describe('the setup link', () => {
  let app: TestApp;
  let person: SignedUp;
  beforeAll(async () => {
    app = await startTestApp();
    person = await app.signUp({ organizationName: 'Operators' });
  });
  afterAll(() => app.dispose());

  const tokenOf = (link: string | null) => link?.split('#')[1] ?? '';
  const redeem = (token: string, bearer?: string) =>
    app.request('POST', '/v1/admin/setup', { token: bearer, body: { token } });

  test('makes the signed-in person who opens it the platform admin, once', async () => {
    const earlier = tokenOf(await offerPlatformSetup(app.database, { appUrl: TEST_APP_URL, logger: silent }));
    const link = await offerPlatformSetup(app.database, { appUrl: TEST_APP_URL, logger: silent });
    expect(link).toStartWith(`${TEST_APP_URL}/admin/setup#ps_`);
    const token = tokenOf(link);

    expect((await redeem(token)).status).toBe(401);
    expect((await app.request('GET', '/v1/admin/tenants', { token: person.token })).status).toBe(403);
    // A link printed before is no longer valid once a newer one was printed.
    expect((await redeem(earlier, person.token)).body.type).toEndWith('/setup-link-invalid');

    const answer = await redeem(token, person.token);
    expect(answer).toMatchObject({ status: 200, body: { platformAdmin: true } });
    expect((await app.request('GET', '/v1/admin/tenants', { token: person.token })).status).toBe(200);

    const again = await redeem(token, person.token);
    expect(again.status).toBe(410);
    expect(again.headers.get('content-type')).toStartWith('application/problem+json');
    // With a platform admin in place, no more links are printed.
    expect(await offerPlatformSetup(app.database, { appUrl: TEST_APP_URL, logger: silent })).toBeNull();

    const [entry] = await selectRows<{
      action: string;
      actor_type: string;
      actor_id: string;
      metadata: unknown;
    }>(
      app.database.owner,
      sql`select action, actor_type, actor_id, metadata from audit_entries
          where tenant_id = ${person.tenantId} and action = 'admin.platform_admin_granted'`,
    );
    expect(entry).toEqual({
      action: 'admin.platform_admin_granted',
      actor_type: 'user',
      actor_id: person.userId,
      metadata: { via: 'setup-link' },
    });
  });

  test('an unknown token, a malformed body and an API key are refused', async () => {
    const other = await app.signUp();
    expect((await redeem('ps_not-a-real-token', other.token)).status).toBe(410);
    expect((await app.request('POST', '/v1/admin/setup', { token: other.token, body: {} })).status).toBe(422);
    const key = await app.request('POST', '/v1/api-keys', {
      token: other.token,
      body: { name: 'k', scopes: ['org:read'] },
    });
    expect((await redeem('ps_x', key.body.secret)).status).toBe(403);
  });

  test('the operator route takes only an operator token for the same email', async () => {
    const other = await app.signUp();
    const call = (bearer: string, email: string) =>
      app.request('POST', '/v1/admin/operator/platform-admins', {
        headers: { authorization: `Bearer ${bearer}` },
        body: { email },
      });
    expect((await call(other.token, other.email)).status).toBe(401);
    const wrongSecret = await signOperatorToken('x'.repeat(40), { platformAdminEmail: other.email });
    expect((await call(wrongSecret, other.email)).status).toBe(401);
    const forSomeoneElse = await signOperatorToken(TEST_SECRET, {
      platformAdminEmail: 'someone@example.test',
    });
    expect((await call(forSomeoneElse, other.email)).status).toBe(403);
    const unknown = await signOperatorToken(TEST_SECRET, { platformAdminEmail: 'nobody-here@example.test' });
    expect((await call(unknown, 'nobody-here@example.test')).status).toBe(404);
  });
});

describe.skipIf(Boolean(testConfig.DATABASE_URL))('on the embedded default, from the command line', () => {
  let dataDir: string;
  let server: ServerProcess;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'wrapper-setup-'));
    server = await startServerProcess(
      { DATA_DIR: dataDir, DATABASE_URL: undefined, REDIS_URL: undefined, LOG_LEVEL: 'info' },
      { captureOutput: true },
    );
  }, 90_000);
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the first start prints the link, and admin:create works while the server runs', async () => {
    const deadline = Date.now() + 10_000;
    while (!server.output().includes('/admin/setup#') && Date.now() < deadline) await Bun.sleep(50);
    expect(server.output()).toMatch(/open http:\/\/localhost:\d+\/admin\/setup#ps_[\w-]+ \(signed in/);

    const signup = await fetch(`${server.baseUrl}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'first-admin@example.test',
        password: 'correct horse battery',
        name: 'First Admin',
        organizationName: 'Platform',
      }),
    });
    expect(signup.status).toBe(201);
    const { accessToken } = (await signup.json()) as { accessToken: string };

    const run = (email: string) =>
      Bun.spawn(['bun', 'run', 'admin:create', email], {
        cwd: projectRoot,
        env: { ...process.env, DATA_DIR: dataDir, PORT: new URL(server.baseUrl).port, HOST: '127.0.0.1' },
        stdout: 'pipe',
        stderr: 'pipe',
      });
    const unknown = run('nobody@example.test');
    expect(await unknown.exited).toBe(1);
    expect(await new Response(unknown.stderr).text()).toContain(
      'No account with the email nobody@example.test',
    );

    const made = run('first-admin@example.test');
    expect(await made.exited).toBe(0);
    const printed = await new Response(made.stdout).text();
    expect(printed).toContain(`The server is running with ${dataDir}`);
    expect(printed).toContain('first-admin@example.test is now a platform administrator.');
    const tenants = await fetch(`${server.baseUrl}/v1/admin/tenants`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(tenants.status).toBe(200);
  }, 60_000);
});
