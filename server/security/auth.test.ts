import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type CredentialCase, credentialCases } from '../testing/credentials.ts';
import { startTestApp, type TestApp } from '../testing/harness.ts';
import { type DocumentedOperation, operationsOf } from './operations.ts';

/**
 * Every operation the OpenAPI document marks as secured, called with every credential that must be
 * refused: derived from the document, so a new route is covered without editing this file. Each refusal
 * must also be one the document lists for the operation. Routes check the caller before they read the
 * body, so no sample bodies are needed: a refusal must come first.
 */
let app: TestApp;
let cases: CredentialCase[];
let operations: DocumentedOperation[];
let publicOperations: string[];

/**
 * The operations anyone may call: signing up and in, token flows that carry their own secret, the
 * signed Stripe webhook, health, the metrics (their own optional token), public catalogs and the audit
 * public key. A route left without `auth` by mistake would be public: it fails here until it is named.
 */
const PUBLIC = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'POST /v1/auth/signup',
  'POST /v1/auth/login',
  'GET /v1/auth/oidc/providers',
  'GET /v1/auth/oidc/{provider}/start',
  'GET /v1/auth/oidc/{provider}/callback',
  'POST /v1/auth/oidc/exchange',
  'POST /v1/auth/refresh',
  'GET /v1/invitations/preview',
  'POST /v1/invitations/accept',
  'POST /v1/auth/verify-email',
  'POST /v1/auth/password/forgot',
  'POST /v1/auth/password/reset',
  'GET /v1/events/catalog',
  // The key that verifies audit checkpoints, for verifiers without an account (decision 0017).
  'GET /v1/audit-logs/public-key',
  'GET /v1/audit-logs/catalog',
  'POST /v1/billing/stripe/webhook',
  // Development only (no SMTP relay, not production): the test app serves it as development does.
  'GET /v1/dev/mailbox',
];

/** What a secured operation asks of its caller (decision 0016). */
const requirementOf = (operation: DocumentedOperation) =>
  operation.permission ? 'permission' : operation.sessionOnly ? 'session' : 'member';

beforeAll(async () => {
  app = await startTestApp();
  cases = await credentialCases(app);
  const all = operationsOf((await app.request('GET', '/docs/json')).body);
  operations = all.filter((operation) => operation.secured);
  publicOperations = all.filter((operation) => !operation.secured).map((operation) => operation.key);
});
afterAll(() => app.dispose());

/** A path with every `{param}` filled by an id that names nothing. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, () => Bun.randomUUIDv7());

describe('every secured operation refuses every wrong credential', () => {
  test('every operation is secured except the named public ones', () => {
    expect(publicOperations.sort()).toEqual([...PUBLIC].sort());
  });

  test('the document lists the secured operations of every kind', () => {
    const kinds = new Set(operations.map(requirementOf));
    expect([...kinds].sort()).toEqual(['member', 'permission', 'session']);
    expect(operations.length).toBeGreaterThan(40);
  });

  test('401 or 403 problem+json for each operation × credential', async () => {
    let sent = 0;
    const wrong: string[] = [];
    for (const operation of operations) {
      for (const credential of cases) {
        const expected = credential.expected[requirementOf(operation)];
        if (expected === 'allowed') continue;
        const token = credential.tokenFor(operation.permission);
        const response = await app.request(operation.method, concrete(operation.path), {
          ...(token ? { token } : {}),
        });
        sent++;
        const type = expected === 401 ? '/problems/unauthorized' : '/problems/forbidden';
        const problem =
          response.headers.get('content-type')?.startsWith('application/problem+json') &&
          response.body?.type === type &&
          response.body?.status === expected;
        if (response.status !== expected || !problem || !operation.responses.includes(String(expected))) {
          wrong.push(
            `${operation.method} ${operation.path} with ${credential.name}: ${response.status} ${JSON.stringify(response.body)}`,
          );
        }
      }
    }
    console.log(`auth suite: ${operations.length} operations, ${cases.length} credentials, ${sent} requests`);
    expect(wrong).toEqual([]);
    expect(sent).toBeGreaterThan(operations.length * 8);
  });
});

describe('an ended session changes nothing', () => {
  test('its token cannot end, list or switch the person’s other sessions', async () => {
    const person = await app.signUp({ organizationName: 'Ended Session' });
    const second = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: person.password },
    });
    expect((await app.request('POST', '/v1/auth/logout', { token: person.token })).status).toBe(204);
    const otherId = (await app.tokens.verify(second.body.accessToken))?.sessionId;
    const ended = await app.request('DELETE', `/v1/auth/sessions/${otherId}`, { token: person.token });
    expect(ended.status).toBe(401);
    expect(ended.body.type).toBe('/problems/unauthorized');
    // The other session is untouched.
    const listed = await app.request('GET', '/v1/auth/sessions', { token: second.body.accessToken });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((session: { id: string }) => session.id)).toEqual([otherId]);
  });
});
