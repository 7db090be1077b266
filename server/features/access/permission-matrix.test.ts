import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { withTenant } from '../../../db/tenant.ts';
import { type SignedUp, startTestApp, type TestApp, uniqueEmail } from '../../testing/harness.ts';
import { allPermissions, type BuiltInRoleKey, builtInRoleKeys, builtInRoles } from './permissions.ts';
import { addMember } from './service.ts';

/**
 * Every route that declares a permission, as the OpenAPI document lists it (`x-permission`), is called
 * by every built-in role and by an API key holding each single scope. A caller without the permission
 * gets 403; everyone else gets past the check (any other status). A guarded route without a sample
 * request here fails the test, so new routes cannot slip through.
 */
const missing = () => Bun.randomUUIDv7();
const samples: Record<string, () => { body?: unknown; path?: string; headers?: Record<string, string> }> = {
  'GET /v1/organizations': () => ({}),
  'POST /v1/organizations': () => ({ body: { name: `Matrix ${crypto.randomUUID().slice(0, 6)}` } }),
  'GET /v1/organizations/{id}': () => ({ path: `/v1/organizations/${missing()}` }),
  'PATCH /v1/organizations/{id}': () => ({ path: `/v1/organizations/${missing()}`, body: { name: 'x' } }),
  'DELETE /v1/organizations/{id}': () => ({ path: `/v1/organizations/${missing()}` }),
  'GET /v1/roles': () => ({}),
  'POST /v1/roles': () => ({ body: { name: `Matrix ${crypto.randomUUID().slice(0, 8)}`, permissions: [] } }),
  'PATCH /v1/roles/{id}': () => ({ path: `/v1/roles/${missing()}`, body: { name: 'x' } }),
  'DELETE /v1/roles/{id}': () => ({ path: `/v1/roles/${missing()}` }),
  'GET /v1/members': () => ({}),
  'PATCH /v1/members/{userId}': () => ({ path: `/v1/members/${missing()}`, body: { status: 'active' } }),
  'DELETE /v1/members/{userId}': () => ({ path: `/v1/members/${missing()}` }),
  'GET /v1/api-keys': () => ({}),
  'POST /v1/api-keys': () => ({ body: { name: 'matrix', scopes: ['org:read'] } }),
  'GET /v1/credits': () => ({}),
  'GET /v1/credits/transactions': () => ({}),
  'PUT /v1/credits/low-balance-threshold': () => ({ body: { threshold: null } }),
  'POST /v1/credits/reservations': () => ({
    body: { amount: 1, reason: 'matrix' },
    headers: { 'idempotency-key': `matrix-${crypto.randomUUID()}` },
  }),
  'GET /v1/credits/reservations/{id}': () => ({ path: `/v1/credits/reservations/${missing()}` }),
  'POST /v1/credits/reservations/{id}/capture': () => ({
    path: `/v1/credits/reservations/${missing()}/capture`,
    body: { amount: 1 },
  }),
  'POST /v1/credits/reservations/{id}/release': () => ({
    path: `/v1/credits/reservations/${missing()}/release`,
  }),
  'POST /v1/credits/grants': () => ({ body: { amount: 1, reason: 'matrix' } }),
  'POST /v1/credits/consume': () => ({
    body: { amount: 1, reason: 'matrix' },
    headers: { 'idempotency-key': `matrix-${crypto.randomUUID()}` },
  }),
  'DELETE /v1/api-keys/{id}': () => ({ path: `/v1/api-keys/${missing()}` }),
  'GET /v1/billing/plans': () => ({}),
  'GET /v1/billing/subscription': () => ({}),
  // Without Stripe, an allowed caller gets 503 billing-not-configured: the permission is checked first.
  'POST /v1/billing/checkout': () => ({ body: { planId: 'pro' } }),
  'POST /v1/billing/portal': () => ({}),
  'PATCH /v1/tenant': () => ({ body: { branding: { primaryColor: '#112233' } } }),
  'GET /v1/invitations': () => ({}),
  'POST /v1/invitations': () => ({
    body: { email: uniqueEmail('matrix'), roleIds: [builtInRoles.viewer.id] },
  }),
  'DELETE /v1/invitations/{id}': () => ({ path: `/v1/invitations/${missing()}` }),
  'POST /v1/invitations/{id}/resend': () => ({ path: `/v1/invitations/${missing()}/resend` }),
  'GET /v1/audit-logs': () => ({}),
  'GET /v1/audit-logs/export': () => ({ path: '/v1/audit-logs/export?format=ndjson&action=role.created' }),
  'GET /v1/audit-logs/verify': () => ({}),
  'GET /v1/audit-logs/checkpoints': () => ({}),
  'POST /v1/audit-logs/checkpoints': () => ({}),
  'GET /v1/webhooks/endpoints': () => ({}),
  'POST /v1/webhooks/endpoints': () => ({
    body: { url: 'https://matrix.example.com/in', eventTypes: ['tenant.updated'] },
  }),
  'GET /v1/webhooks/endpoints/{id}': () => ({ path: `/v1/webhooks/endpoints/${missing()}` }),
  'PATCH /v1/webhooks/endpoints/{id}': () => ({
    path: `/v1/webhooks/endpoints/${missing()}`,
    body: { description: 'x' },
  }),
  'DELETE /v1/webhooks/endpoints/{id}': () => ({ path: `/v1/webhooks/endpoints/${missing()}` }),
  'POST /v1/webhooks/endpoints/{id}/rotate-secret': () => ({
    path: `/v1/webhooks/endpoints/${missing()}/rotate-secret`,
  }),
  'POST /v1/webhooks/endpoints/{id}/test': () => ({ path: `/v1/webhooks/endpoints/${missing()}/test` }),
  'POST /v1/webhooks/endpoints/{id}/recover': () => ({
    path: `/v1/webhooks/endpoints/${missing()}/recover`,
    body: { since: '2026-01-01T00:00:00Z' },
  }),
  'GET /v1/webhooks/deliveries': () => ({}),
  'POST /v1/webhooks/deliveries/{id}/replay': () => ({ path: `/v1/webhooks/deliveries/${missing()}/replay` }),
};

let app: TestApp;
let owner: SignedUp;
let guarded: Array<{ route: string; method: string; path: string; permission: string }>;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Matrix Corp' });
  const document = (await app.request('GET', '/docs/json')).body as {
    paths: Record<string, Record<string, { 'x-permission'?: string }>>;
  };
  guarded = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([, operation]) => typeof operation['x-permission'] === 'string')
      .map(([method, operation]) => ({
        route: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        permission: operation['x-permission'] as string,
      })),
  );
});
afterAll(() => app.dispose());

async function call(token: string, route: (typeof guarded)[number]) {
  const sample = samples[route.route]?.();
  if (!sample) throw new Error(`no sample request for ${route.route}: add one to the matrix`);
  return app.request(route.method, sample.path ?? route.path, {
    token,
    body: sample.body,
    headers: sample.headers,
  });
}

describe('permission matrix', () => {
  test('every guarded route has a sample and names a catalog permission', () => {
    expect(guarded.length).toBeGreaterThan(15);
    for (const route of guarded)
      expect({ route: route.route, sampled: route.route in samples }).toEqual({
        route: route.route,
        sampled: true,
      });
    const used = new Set(guarded.map((route) => route.permission));
    for (const permission of used)
      expect(allPermissions).toContain(permission as (typeof allPermissions)[number]);
  });

  for (const role of builtInRoleKeys) {
    test(`built-in role "${role}" × every guarded route`, async () => {
      const person = await app.signUp();
      await withTenant(app.database, owner.tenantId, (db) =>
        addMember(db, { tenantId: owner.tenantId, userId: person.userId, role: role as BuiltInRoleKey }),
      );
      const login = await app.request('POST', '/v1/auth/login', {
        body: { email: person.email, password: person.password, tenantId: owner.tenantId },
      });
      const held = new Set<string>(builtInRoles[role].permissions);
      for (const route of guarded) {
        const response = await call(login.body.accessToken, route);
        const denied = response.status === 403;
        expect({ role, route: route.route, denied }).toEqual({
          role,
          route: route.route,
          denied: !held.has(route.permission),
        });
      }
    });
  }

  test('an API key with each single scope × every guarded route', async () => {
    for (const scope of allPermissions) {
      const created = await app.request('POST', '/v1/api-keys', {
        token: owner.token,
        body: { name: scope, scopes: [scope] },
      });
      expect(created.status).toBe(201);
      for (const route of guarded) {
        const response = await call(created.body.secret, route);
        const denied = response.status === 403;
        expect({ scope, route: route.route, denied }).toEqual({
          scope,
          route: route.route,
          denied: route.permission !== scope,
        });
      }
    }
  });
});
