import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type AuditEntryRow, platformSetupTokens } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import { newOpaqueToken } from '../../opaque-tokens.ts';
import { type OpenApiDocument, operationsOf } from '../../security/operations.ts';
import { startTestAppWithStripe } from '../../testing/app-with-stripe.ts';
import {
  auditEntriesOf,
  chainVerifies,
  joinWithRole,
  type SignedUp,
  signIn,
  TEST_SECRET,
  type TestApp,
  testConfig,
  uniqueEmail,
} from '../../testing/harness.ts';
import type { LocalStripe } from '../../testing/stripe-server.ts';
import { builtInRoles } from '../access/permissions.ts';
import { addMember } from '../access/service.ts';
import { issueEmailToken } from '../account/service.ts';
import { grantPlatformAdmin } from '../admin/grant.ts';
import { signOperatorToken } from '../admin/operator-token.ts';
import { issueSignInCode } from '../oidc/service.ts';
import { fanOut } from '../webhooks/fanout.ts';
import { type AuditAction, isAuditAction } from './catalog.ts';

/**
 * Every route that changes something, taken from the app's own route table (and checked against the
 * OpenAPI document), must leave exactly one audit entry in its tenant when it succeeds, with the action,
 * actor and targets listed here. The table is keyed by operation: a new mutating route fails this test
 * until it records an entry and has a row here saying which.
 */

interface ExpectedEntry {
  action: AuditAction;
  actor: { type: 'user' | 'api_key' | 'platform_admin' | 'system'; id: string | null; name?: string | null };
  /** Each target's type, and its id where the case knows it. */
  targets: Array<{ type: string; id?: string }>;
}

/** What one successful request did, for the comparison. */
interface Measured {
  tenantId: string;
  status: number;
  /** The entries the request added to the tenant. */
  added: AuditEntryRow[];
  /** null: the operation records nothing (said why in `noEntry`). */
  expected: ExpectedEntry | null;
}

/** Operations that succeed without recording, and why. */
const noEntry: Record<string, string> = {
  'POST /v1/audit-logs/checkpoints':
    'signs the chain head as it stands: no tenant data changes, and the signed checkpoint is itself the record (also written to the log)',
  'POST /v1/auth/refresh':
    'session upkeep: rotating a refresh token changes who may do nothing; a re-used one is recorded (session.refresh_reuse_detected, tested below)',
};

let app: TestApp;
let stripe: LocalStripe;
let owner: SignedUp;
let admin: SignedUp;
const engine = testConfig.DATABASE_URL ? 'Postgres + Redis' : 'PGlite';

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  expected?: number,
) {
  const response = await app.request(method, path, options);
  if (expected !== undefined && response.status !== expected)
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response;
}

/** Sends the measured request and collects what it added to the tenant's trail. */
async function measure(
  tenantId: string | (() => string),
  send: () => Promise<{ status: number; body?: any }>,
  expected: (body: any) => ExpectedEntry | null,
): Promise<Measured> {
  const tenant = () => (typeof tenantId === 'string' ? tenantId : tenantId());
  const before = typeof tenantId === 'string' ? (await auditEntriesOf(app.database, tenantId)).length : 0;
  const response = await send();
  if (response.status >= 300)
    throw new Error(`the measured request failed: ${response.status} ${JSON.stringify(response.body)}`);
  const after = await auditEntriesOf(app.database, tenant());
  return {
    tenantId: tenant(),
    status: response.status,
    added: after.slice(before),
    expected: expected(response.body),
  };
}

const userActor = (person: { userId: string }, name: string | null = 'Test Person') => ({
  type: 'user' as const,
  id: person.userId,
  name,
});
const idem = () => ({ 'idempotency-key': crypto.randomUUID() });
const sessionOf = async (token: string) => (await app.tokens.verify(token))?.sessionId ?? '';

async function mailTo(email: string, subject: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const box = await call('GET', '/v1/dev/mailbox?limit=100', {}, 200);
    const mail = (box.body.items as Array<{ to: string; subject: string; text: string }>).find(
      (item) => item.to === email && item.subject.includes(subject),
    );
    const token = mail && /[?&]token=([^\s&]+)/.exec(mail.text)?.[1];
    if (token) return decodeURIComponent(token);
    await Bun.sleep(20);
  }
  throw new Error(`no "${subject}" mail for ${email}`);
}

async function invite(email: string, roleId = builtInRoles.member.id) {
  return call('POST', '/v1/invitations', { token: owner.token, body: { email, roleIds: [roleId] } }, 201);
}

async function grant(tenant: SignedUp, amount = 100) {
  return call('POST', '/v1/credits/grants', { token: tenant.token, body: { amount, reason: 'seed' } }, 201);
}

async function reserve(tenant: SignedUp) {
  await grant(tenant);
  return call(
    'POST',
    '/v1/credits/reservations',
    { token: tenant.token, body: { amount: 10, reason: 'job' }, headers: idem() },
    201,
  );
}

const webhookEndpointBody = { url: 'https://hooks.example.com/in', eventTypes: ['organization.created'] };
const webhookEndpoint = async (): Promise<{ id: string }> =>
  (await call('POST', '/v1/webhooks/endpoints', { token: owner.token, body: webhookEndpointBody }, 201)).body;

/** One case per mutating operation: it sets up what it needs, then measures the one request. */
const cases: Record<string, () => Promise<Measured>> = {
  'POST /v1/auth/signup': async () => {
    const email = uniqueEmail('signup');
    let created: any;
    return measure(
      () => created.tenant.id,
      async () => {
        const response = await call('POST', '/v1/auth/signup', {
          body: { email, password: 'correct horse battery', name: 'New Person', organizationName: 'New Co' },
        });
        created = response.body;
        return response;
      },
      (body) => ({
        action: 'user.signed_up',
        actor: { type: 'user', id: body.user.id, name: 'New Person' },
        targets: [
          { type: 'user', id: body.user.id },
          { type: 'tenant', id: body.tenant.id },
          { type: 'session' },
        ],
      }),
    );
  },
  'POST /v1/auth/login': () =>
    measure(
      owner.tenantId,
      () => call('POST', '/v1/auth/login', { body: { email: owner.email, password: owner.password } }),
      () => ({
        action: 'session.signed_in',
        actor: userActor(owner),
        targets: [{ type: 'user', id: owner.userId }, { type: 'session' }],
      }),
    ),
  'POST /v1/auth/oidc/exchange': async () => {
    // The one-time code the provider callback hands out (the flow itself: oidc.test.ts).
    const code = await issueSignInCode(app.database, owner.userId);
    return measure(
      owner.tenantId,
      () => call('POST', '/v1/auth/oidc/exchange', { body: { code } }),
      () => ({
        action: 'session.signed_in',
        actor: userActor(owner),
        targets: [{ type: 'user', id: owner.userId }, { type: 'session' }],
      }),
    );
  },
  'POST /v1/auth/refresh': async () => {
    const { refreshToken } = await signIn(app, owner);
    return measure(
      owner.tenantId,
      () => call('POST', '/v1/auth/refresh', { body: { refreshToken } }),
      () => null,
    );
  },
  'POST /v1/auth/logout': async () => {
    const { token } = await signIn(app, owner);
    const sessionId = await sessionOf(token);
    return measure(
      owner.tenantId,
      () => call('POST', '/v1/auth/logout', { token }),
      () => ({
        action: 'session.signed_out',
        actor: userActor(owner),
        targets: [
          { type: 'user', id: owner.userId },
          { type: 'session', id: sessionId },
        ],
      }),
    );
  },
  'POST /v1/auth/switch-tenant': async () => {
    const person = await app.signUp();
    await withTenant(app.database, owner.tenantId, (db) =>
      addMember(db, { tenantId: owner.tenantId, userId: person.userId, role: 'member' }),
    );
    return measure(
      owner.tenantId,
      () =>
        call('POST', '/v1/auth/switch-tenant', { token: person.token, body: { tenantId: owner.tenantId } }),
      () => ({
        action: 'session.tenant_switched',
        actor: userActor(person),
        targets: [{ type: 'user', id: person.userId }, { type: 'session' }],
      }),
    );
  },
  'DELETE /v1/auth/sessions/{id}': async () => {
    const other = await signIn(app, owner);
    const sessionId = await sessionOf(other.token);
    return measure(
      owner.tenantId,
      () => call('DELETE', `/v1/auth/sessions/${sessionId}`, { token: owner.token }),
      () => ({
        action: 'session.revoked',
        actor: userActor(owner),
        targets: [
          { type: 'user', id: owner.userId },
          { type: 'session', id: sessionId },
        ],
      }),
    );
  },
  'POST /v1/roles': () =>
    measure(
      owner.tenantId,
      () =>
        call('POST', '/v1/roles', {
          token: owner.token,
          body: { name: `Auditors ${crypto.randomUUID().slice(0, 6)}`, permissions: ['org:read'] },
        }),
      (body) => ({
        action: 'role.created',
        actor: userActor(owner),
        targets: [{ type: 'role', id: body.id }],
      }),
    ),
  'PATCH /v1/roles/{id}': async () => {
    const role = await call(
      'POST',
      '/v1/roles',
      {
        token: owner.token,
        body: { name: `Readers ${crypto.randomUUID().slice(0, 6)}`, permissions: ['org:read'] },
      },
      201,
    );
    return measure(
      owner.tenantId,
      () =>
        call('PATCH', `/v1/roles/${role.body.id}`, {
          token: owner.token,
          body: { permissions: ['org:read', 'members:read'] },
        }),
      () => ({
        action: 'role.updated',
        actor: userActor(owner),
        targets: [{ type: 'role', id: role.body.id }],
      }),
    );
  },
  'DELETE /v1/roles/{id}': async () => {
    const role = await call(
      'POST',
      '/v1/roles',
      {
        token: owner.token,
        body: { name: `Temp ${crypto.randomUUID().slice(0, 6)}`, permissions: ['org:read'] },
      },
      201,
    );
    return measure(
      owner.tenantId,
      () => call('DELETE', `/v1/roles/${role.body.id}`, { token: owner.token }),
      () => ({
        action: 'role.deleted',
        actor: userActor(owner),
        targets: [{ type: 'role', id: role.body.id }],
      }),
    );
  },
  'PATCH /v1/members/{userId}': async () => {
    const member = await joinWithRole(app, owner.tenantId, 'member');
    return measure(
      owner.tenantId,
      () =>
        call('PATCH', `/v1/members/${member.userId}`, {
          token: owner.token,
          body: { roleIds: [builtInRoles.viewer.id] },
        }),
      () => ({
        action: 'member.updated',
        actor: userActor(owner),
        targets: [{ type: 'user', id: member.userId }],
      }),
    );
  },
  'DELETE /v1/members/{userId}': async () => {
    const member = await joinWithRole(app, owner.tenantId, 'member');
    return measure(
      owner.tenantId,
      () => call('DELETE', `/v1/members/${member.userId}`, { token: owner.token }),
      () => ({
        action: 'member.removed',
        actor: userActor(owner),
        targets: [{ type: 'user', id: member.userId }],
      }),
    );
  },
  'POST /v1/organizations': () =>
    measure(
      owner.tenantId,
      () => call('POST', '/v1/organizations', { token: owner.token, body: { name: 'Branch' } }),
      (body) => ({
        action: 'organization.created',
        actor: userActor(owner),
        targets: [{ type: 'organization', id: body.id }],
      }),
    ),
  'PATCH /v1/organizations/{id}': async () => {
    const made = await call('POST', '/v1/organizations', { token: owner.token, body: { name: 'Old' } }, 201);
    return measure(
      owner.tenantId,
      () => call('PATCH', `/v1/organizations/${made.body.id}`, { token: owner.token, body: { name: 'New' } }),
      () => ({
        action: 'organization.updated',
        actor: userActor(owner),
        targets: [{ type: 'organization', id: made.body.id }],
      }),
    );
  },
  'DELETE /v1/organizations/{id}': async () => {
    const made = await call('POST', '/v1/organizations', { token: owner.token, body: { name: 'Gone' } }, 201);
    return measure(
      owner.tenantId,
      () => call('DELETE', `/v1/organizations/${made.body.id}`, { token: owner.token }),
      () => ({
        action: 'organization.deleted',
        actor: userActor(owner),
        targets: [{ type: 'organization', id: made.body.id }],
      }),
    );
  },
  'POST /v1/api-keys': () =>
    measure(
      owner.tenantId,
      () => call('POST', '/v1/api-keys', { token: owner.token, body: { name: 'CRM', scopes: ['org:read'] } }),
      (body) => ({
        action: 'api_key.created',
        actor: userActor(owner),
        targets: [{ type: 'api_key', id: body.id }],
      }),
    ),
  'POST /v1/webhooks/endpoints': () =>
    measure(
      owner.tenantId,
      () => call('POST', '/v1/webhooks/endpoints', { token: owner.token, body: webhookEndpointBody }),
      (body) => ({
        action: 'webhook.endpoint_created',
        actor: userActor(owner),
        targets: [{ type: 'webhook_endpoint', id: body.id }],
      }),
    ),
  'PATCH /v1/webhooks/endpoints/{id}': async () => {
    const endpoint = await webhookEndpoint();
    return measure(
      owner.tenantId,
      () =>
        call('PATCH', `/v1/webhooks/endpoints/${endpoint.id}`, {
          token: owner.token,
          body: { description: 'Changed' },
        }),
      () => ({
        action: 'webhook.endpoint_updated',
        actor: userActor(owner),
        targets: [{ type: 'webhook_endpoint', id: endpoint.id }],
      }),
    );
  },
  'DELETE /v1/webhooks/endpoints/{id}': async () => {
    const endpoint = await webhookEndpoint();
    return measure(
      owner.tenantId,
      () => call('DELETE', `/v1/webhooks/endpoints/${endpoint.id}`, { token: owner.token }),
      () => ({
        action: 'webhook.endpoint_deleted',
        actor: userActor(owner),
        targets: [{ type: 'webhook_endpoint', id: endpoint.id }],
      }),
    );
  },
  'POST /v1/webhooks/endpoints/{id}/rotate-secret': async () => {
    const endpoint = await webhookEndpoint();
    return measure(
      owner.tenantId,
      () => call('POST', `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`, { token: owner.token }),
      () => ({
        action: 'webhook.secret_rotated',
        actor: userActor(owner),
        targets: [{ type: 'webhook_endpoint', id: endpoint.id }],
      }),
    );
  },
  'POST /v1/webhooks/endpoints/{id}/test': async () => {
    const endpoint = await webhookEndpoint();
    return measure(
      owner.tenantId,
      () => call('POST', `/v1/webhooks/endpoints/${endpoint.id}/test`, { token: owner.token }),
      () => ({
        action: 'webhook.test_sent',
        actor: userActor(owner),
        targets: [{ type: 'webhook_endpoint', id: endpoint.id }],
      }),
    );
  },
  'POST /v1/webhooks/endpoints/{id}/recover': async () => {
    const endpoint = await webhookEndpoint();
    return measure(
      owner.tenantId,
      () =>
        call('POST', `/v1/webhooks/endpoints/${endpoint.id}/recover`, {
          token: owner.token,
          body: { since: new Date(Date.now() - 3600_000).toISOString() },
        }),
      () => ({
        action: 'webhook.deliveries_recovered',
        actor: userActor(owner),
        targets: [{ type: 'webhook_endpoint', id: endpoint.id }],
      }),
    );
  },
  'POST /v1/webhooks/deliveries/{id}/replay': async () => {
    const endpoint = await webhookEndpoint();
    await call('POST', `/v1/webhooks/endpoints/${endpoint.id}/test`, { token: owner.token }, 202);
    await fanOut(app.database, owner.tenantId);
    const deliveries = await call(
      'GET',
      `/v1/webhooks/deliveries?endpointId=${endpoint.id}`,
      { token: owner.token },
      200,
    );
    const delivery = deliveries.body.items[0];
    return measure(
      owner.tenantId,
      () => call('POST', `/v1/webhooks/deliveries/${delivery.id}/replay`, { token: owner.token }),
      () => ({
        action: 'webhook.delivery_replayed',
        actor: userActor(owner),
        targets: [
          { type: 'webhook_delivery', id: delivery.id },
          { type: 'webhook_endpoint', id: endpoint.id },
        ],
      }),
    );
  },
  'DELETE /v1/api-keys/{id}': async () => {
    const key = await call(
      'POST',
      '/v1/api-keys',
      { token: owner.token, body: { name: 'Old', scopes: ['org:read'] } },
      201,
    );
    return measure(
      owner.tenantId,
      () => call('DELETE', `/v1/api-keys/${key.body.id}`, { token: owner.token }),
      () => ({
        action: 'api_key.revoked',
        actor: userActor(owner),
        targets: [{ type: 'api_key', id: key.body.id }],
      }),
    );
  },
  'PATCH /v1/tenant': () =>
    measure(
      owner.tenantId,
      () => call('PATCH', '/v1/tenant', { token: owner.token, body: { name: `Renamed ${Date.now()}` } }),
      () => ({
        action: 'tenant.updated',
        actor: userActor(owner),
        targets: [{ type: 'tenant', id: owner.tenantId }],
      }),
    ),
  'PATCH /v1/admin/tenants/{id}': () =>
    measure(
      owner.tenantId,
      () =>
        call('PATCH', `/v1/admin/tenants/${owner.tenantId}`, {
          token: admin.token,
          body: { status: 'active' },
        }),
      () => ({
        action: 'admin.tenant_updated',
        actor: { type: 'platform_admin', id: admin.userId, name: 'Test Person' },
        targets: [{ type: 'tenant', id: owner.tenantId }],
      }),
    ),
  'POST /v1/audit-logs/checkpoints': () =>
    measure(
      owner.tenantId,
      () => call('POST', '/v1/audit-logs/checkpoints', { token: owner.token }),
      () => null,
    ),
  'POST /v1/admin/setup': async () => {
    const person = await app.signUp({ organizationName: 'Setup' });
    const { token, hash } = newOpaqueToken('ps_');
    await app.database.owner
      .insert(platformSetupTokens)
      .values({ tokenHash: hash, expiresAt: new Date(Date.now() + 60_000) });
    return measure(
      person.tenantId,
      () => call('POST', '/v1/admin/setup', { token: person.token, body: { token } }),
      () => ({
        action: 'admin.platform_admin_granted',
        actor: userActor(person),
        targets: [{ type: 'user', id: person.userId }],
      }),
    );
  },
  'POST /v1/admin/operator/platform-admins': async () => {
    const person = await app.signUp({ organizationName: 'Operated' });
    const operator = await signOperatorToken(TEST_SECRET, { platformAdminEmail: person.email });
    return measure(
      person.tenantId,
      () =>
        call('POST', '/v1/admin/operator/platform-admins', {
          headers: { authorization: `Bearer ${operator}` },
          body: { email: person.email },
        }),
      () => ({
        action: 'admin.platform_admin_granted',
        actor: { type: 'system', id: 'operator' },
        targets: [{ type: 'user', id: person.userId }],
      }),
    );
  },
  'POST /v1/admin/tenants/{id}/credits': () =>
    measure(
      owner.tenantId,
      () =>
        call('POST', `/v1/admin/tenants/${owner.tenantId}/credits`, {
          token: admin.token,
          body: { amount: 5, reason: 'Goodwill' },
        }),
      (body) => ({
        action: 'admin.credits_adjusted',
        actor: { type: 'platform_admin', id: admin.userId },
        targets: [
          { type: 'tenant', id: owner.tenantId },
          { type: 'credit_transaction', id: body.transaction.id },
        ],
      }),
    ),
  'POST /v1/invitations': () =>
    measure(
      owner.tenantId,
      () =>
        call('POST', '/v1/invitations', {
          token: owner.token,
          body: { email: uniqueEmail('invited'), roleIds: [builtInRoles.member.id] },
        }),
      (body) => ({
        action: 'invitation.created',
        actor: userActor(owner),
        targets: [{ type: 'invitation', id: body.id }],
      }),
    ),
  'DELETE /v1/invitations/{id}': async () => {
    const invitation = await invite(uniqueEmail('withdrawn'));
    return measure(
      owner.tenantId,
      () => call('DELETE', `/v1/invitations/${invitation.body.id}`, { token: owner.token }),
      () => ({
        action: 'invitation.revoked',
        actor: userActor(owner),
        targets: [{ type: 'invitation', id: invitation.body.id }],
      }),
    );
  },
  'POST /v1/invitations/{id}/resend': async () => {
    const invitation = await invite(uniqueEmail('again'));
    return measure(
      owner.tenantId,
      () => call('POST', `/v1/invitations/${invitation.body.id}/resend`, { token: owner.token }),
      () => ({
        action: 'invitation.resent',
        actor: userActor(owner),
        targets: [{ type: 'invitation', id: invitation.body.id }],
      }),
    );
  },
  'POST /v1/invitations/accept': async () => {
    const email = uniqueEmail('joining');
    const invitation = await invite(email);
    const token = await mailTo(email, 'invited');
    let userId = '';
    return measure(
      owner.tenantId,
      async () => {
        const response = await call('POST', '/v1/invitations/accept', {
          body: { token, name: 'Joiner', password: 'joiner long password' },
        });
        userId = (await app.tokens.verify(response.body.accessToken))?.userId ?? '';
        return response;
      },
      () => ({
        action: 'invitation.accepted',
        actor: { type: 'user', id: userId, name: 'Joiner' },
        targets: [
          { type: 'invitation', id: invitation.body.id },
          { type: 'user', id: userId },
          { type: 'session' },
        ],
      }),
    );
  },
  'POST /v1/auth/verify-email': async () => {
    const person = await app.signUp();
    const token = await mailTo(person.email, 'Confirm your email');
    return measure(
      person.tenantId,
      () => call('POST', '/v1/auth/verify-email', { body: { token } }),
      () => ({
        action: 'user.email_verified',
        actor: userActor(person),
        targets: [{ type: 'user', id: person.userId }],
      }),
    );
  },
  'POST /v1/auth/verify-email/resend': async () => {
    const person = await app.signUp();
    await mailTo(person.email, 'Confirm your email'); // the sign-up's own mail is out first
    return measure(
      person.tenantId,
      () => call('POST', '/v1/auth/verify-email/resend', { token: person.token }),
      () => ({
        action: 'user.email_verification_sent',
        actor: userActor(person),
        targets: [{ type: 'user', id: person.userId }],
      }),
    );
  },
  'POST /v1/auth/password/forgot': async () => {
    const person = await app.signUp();
    return measure(
      person.tenantId,
      () => call('POST', '/v1/auth/password/forgot', { body: { email: person.email } }),
      () => ({
        action: 'user.password_reset_requested',
        actor: { type: 'user', id: null, name: null },
        targets: [{ type: 'user', id: person.userId }],
      }),
    );
  },
  'POST /v1/auth/password/reset': async () => {
    const person = await app.signUp();
    const issued = await issueEmailToken(app.database, { purpose: 'reset-password', userId: person.userId });
    return measure(
      person.tenantId,
      () =>
        call('POST', '/v1/auth/password/reset', {
          body: { token: issued?.token, password: 'a brand new password' },
        }),
      () => ({
        action: 'user.password_reset',
        actor: userActor(person),
        targets: [{ type: 'user', id: person.userId }],
      }),
    );
  },
  'PUT /v1/credits/low-balance-threshold': () =>
    measure(
      owner.tenantId,
      () => call('PUT', '/v1/credits/low-balance-threshold', { token: owner.token, body: { threshold: 10 } }),
      () => ({
        action: 'credits.low_balance_threshold_set',
        actor: userActor(owner),
        targets: [{ type: 'tenant', id: owner.tenantId }],
      }),
    ),
  'POST /v1/credits/grants': () =>
    measure(
      owner.tenantId,
      () => call('POST', '/v1/credits/grants', { token: owner.token, body: { amount: 50, reason: 'Gift' } }),
      (body) => ({
        action: 'credits.granted',
        actor: userActor(owner),
        targets: [{ type: 'credit_transaction', id: body.transaction.id }],
      }),
    ),
  'POST /v1/credits/reservations': async () => {
    await grant(owner);
    return measure(
      owner.tenantId,
      () =>
        call('POST', '/v1/credits/reservations', {
          token: owner.token,
          body: { amount: 5, reason: 'metered' },
          headers: idem(),
        }),
      (body) => ({
        action: 'credits.reserved',
        actor: userActor(owner),
        targets: [{ type: 'credit_reservation', id: body.reservation.id }],
      }),
    );
  },
  'POST /v1/credits/reservations/{id}/capture': async () => {
    const held = await reserve(owner);
    const id = held.body.reservation.id;
    return measure(
      owner.tenantId,
      () =>
        call('POST', `/v1/credits/reservations/${id}/capture`, { token: owner.token, body: { amount: 4 } }),
      () => ({
        action: 'credits.reservation_captured',
        actor: userActor(owner),
        targets: [{ type: 'credit_reservation', id }],
      }),
    );
  },
  'POST /v1/credits/reservations/{id}/release': async () => {
    const held = await reserve(owner);
    const id = held.body.reservation.id;
    return measure(
      owner.tenantId,
      () => call('POST', `/v1/credits/reservations/${id}/release`, { token: owner.token }),
      () => ({
        action: 'credits.reservation_released',
        actor: userActor(owner),
        targets: [{ type: 'credit_reservation', id }],
      }),
    );
  },
  'POST /v1/credits/consume': async () => {
    // With an API key: the actor is the key, named as it was created.
    await grant(owner);
    const key = await call(
      'POST',
      '/v1/api-keys',
      { token: owner.token, body: { name: 'Metering', scopes: ['credits:consume'] } },
      201,
    );
    return measure(
      owner.tenantId,
      () =>
        call('POST', '/v1/credits/consume', {
          token: key.body.secret,
          body: { amount: 3, reason: 'API call' },
          headers: idem(),
        }),
      (body) => ({
        action: 'credits.consumed',
        actor: { type: 'api_key', id: key.body.id, name: 'Metering' },
        targets: [{ type: 'credit_transaction', id: body.transaction.id }],
      }),
    );
  },
  'POST /v1/billing/checkout': () =>
    measure(
      owner.tenantId,
      () => call('POST', '/v1/billing/checkout', { token: owner.token, body: { planId: 'pro' } }),
      () => ({
        action: 'billing.checkout_started',
        actor: userActor(owner),
        targets: [{ type: 'plan', id: 'pro' }],
      }),
    ),
  'POST /v1/billing/portal': () =>
    measure(
      owner.tenantId,
      () => call('POST', '/v1/billing/portal', { token: owner.token }),
      () => ({
        action: 'billing.portal_opened',
        actor: userActor(owner),
        targets: [{ type: 'tenant', id: owner.tenantId }],
      }),
    ),
  'POST /v1/billing/stripe/webhook': async () => {
    const tenant = await app.signUp();
    const checkout = await call(
      'POST',
      '/v1/billing/checkout',
      { token: tenant.token, body: { planId: 'pro' } },
      200,
    );
    const [created] = await stripe.completeCheckout(checkout.body.url.split('/').at(-1) ?? '');
    if (!created) throw new Error('the local Stripe completed no checkout');
    return measure(
      tenant.tenantId,
      () =>
        stripe
          .deliver(created)
          .then(async (response) => ({ status: response.status, body: await response.json() })),
      () => ({
        action: 'billing.subscription_changed',
        actor: { type: 'system', id: 'stripe' },
        targets: [{ type: 'subscription' }],
      }),
    );
  },
};

/** The app's mutating routes, named as the OpenAPI document names operations. */
function mutatingRoutes(): string[] {
  return app
    .routes()
    .filter((route) => !['GET', 'HEAD', 'OPTIONS', 'ALL'].includes(route.method))
    .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`)
    .sort();
}

beforeAll(async () => {
  ({ app, stripe } = await startTestAppWithStripe());
  owner = await app.signUp({ organizationName: 'Audited' });
  admin = await app.signUp({ organizationName: 'Platform' });
  expect(await grantPlatformAdmin(app.database, admin.email)).toBe(true);
}, 180_000);

afterAll(async () => {
  await app?.dispose();
  await stripe?.close();
});

describe('every mutating route leaves exactly one audit entry', () => {
  test('the table has a row for every mutating route, and only for those', async () => {
    const routes = mutatingRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(37);
    const document: OpenApiDocument = (await call('GET', '/docs/json', {}, 200)).body;
    const documented = operationsOf(document)
      .filter((operation) => operation.method !== 'GET')
      .map((operation) => operation.key)
      .sort();
    expect(documented).toEqual(routes);
    const missing = routes.filter((key) => !cases[key]);
    expect({ missing }).toEqual({ missing: [] });
    expect(Object.keys(cases).filter((key) => !routes.includes(key))).toEqual([]);
  });

  const failures: string[] = [];
  for (const key of Object.keys(cases).sort()) {
    test(key, async () => {
      const run = cases[key];
      if (!run) throw new Error(`no case for ${key}`);
      const measured = await run();
      const seen = measured.added.map((entry) => ({
        action: entry.action,
        actor: { type: entry.actorType, id: entry.actorId, name: entry.actorName },
        targets: (entry.targets as Array<{ type: string; id: string }>).map(({ type, id }) => ({ type, id })),
        outcome: entry.outcome,
      }));
      if (!measured.expected) {
        expect(noEntry[key]).toBeString();
        expect(seen).toEqual([]);
        return;
      }
      const expected = measured.expected;
      expect(isAuditAction(expected.action)).toBe(true);
      expect(seen).toHaveLength(1);
      const [entry] = seen;
      expect(entry).toMatchObject({ action: expected.action, outcome: 'success' });
      expect(entry?.actor).toMatchObject(
        expected.actor.name === undefined
          ? { type: expected.actor.type, id: expected.actor.id }
          : expected.actor,
      );
      expect(entry?.targets.map((item) => item.type)).toEqual(expected.targets.map((item) => item.type));
      expected.targets.forEach((item, index) => {
        if (item.id !== undefined) expect(entry?.targets[index]?.id).toBe(item.id);
      });
      if (!(await chainVerifies(app.database, measured.tenantId)))
        failures.push(`${key}: the chain of ${measured.tenantId} no longer verifies`);
      expect(failures).toEqual([]);
    });
  }

  test('no entry carries a secret: tokens, key secrets, password hashes', async () => {
    const tenants = [owner.tenantId, admin.tenantId];
    const text = JSON.stringify(await Promise.all(tenants.map((id) => auditEntriesOf(app.database, id))));
    for (const secret of [
      /wr_[A-Za-z0-9_-]{20,}/,
      /rt_[A-Za-z0-9_-]{20,}/,
      /inv_[A-Za-z0-9_-]{20,}/,
      /\$argon2/,
    ]) {
      expect(text).not.toMatch(secret);
    }
    console.log(`route-table audit test on ${engine}: ${Object.keys(cases).length} mutating operations`);
  });
});
