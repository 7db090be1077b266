import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import { adminActions } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import { hashOpaqueToken } from '../../opaque-tokens.ts';
import { startTestAppWithStripe } from '../../testing/app-with-stripe.ts';
import {
  auditEntriesOf,
  chainVerifies,
  joinWithRole,
  type SignedUp,
  signIn,
  type TestApp,
  uniqueEmail,
} from '../../testing/harness.ts';
import type { LocalStripe } from '../../testing/stripe-server.ts';
import { addMember } from '../access/service.ts';
import { issueEmailToken } from '../account/service.ts';
import { grantPlatformAdmin } from '../admin/grant.ts';
import { recordAudit, systemWho } from './record.ts';

// What the audit trail records beyond "one entry per change" (route-table.test.ts): secrets never in
// it, refusals and failed sign-ins recorded as failures, platform admins and Stripe as their own
// actors, and an entry that rolls back with its change.

let app: TestApp;
let stripe: LocalStripe;
let owner: SignedUp;

beforeAll(async () => {
  ({ app, stripe } = await startTestAppWithStripe());
  owner = await app.signUp({ name: 'Olivia Owner' });
}, 180_000);

afterAll(async () => {
  await app?.dispose();
  await stripe?.close();
});

const entries = (tenantId: string, action?: string) =>
  auditEntriesOf(app.database, tenantId).then((rows) =>
    action ? rows.filter((row) => row.action === action) : rows,
  );

describe('audit entries', () => {
  test('a password reset records that the password changed, never the password, its hash or the link', async () => {
    const person = await app.signUp();
    const issued = await issueEmailToken(app.database, { purpose: 'reset-password', userId: person.userId });
    if (!issued) throw new Error('no reset token');
    const password = 'a secret new password';
    const reset = await app.request('POST', '/v1/auth/password/reset', {
      body: { token: issued.token, password },
    });
    expect(reset.status).toBe(204);
    const [entry] = await entries(person.tenantId, 'user.password_reset');
    expect(entry?.changes).toEqual({ password: ['[redacted]', '[redacted]'] });
    const [stored] = await selectRows<{ password_hash: string }>(
      app.database.owner,
      sql`select password_hash from users where id = ${person.userId}`,
    );
    const text = JSON.stringify(await entries(person.tenantId));
    for (const secret of [
      password,
      issued.token,
      hashOpaqueToken(issued.token),
      stored?.password_hash ?? '?',
    ])
      expect(text).not.toContain(secret);
    expect(text).not.toContain('$argon2');
  });

  test('creating an API key records its name, prefix and scopes, never its secret or the secret hash', async () => {
    const created = await app.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'Secretive', scopes: ['org:read'] },
    });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    const [entry] = (await entries(owner.tenantId, 'api_key.created')).filter(
      (row) => (row.targets as Array<{ id: string }>)[0]?.id === created.body.id,
    );
    expect(entry?.changes).toMatchObject({
      name: [null, 'Secretive'],
      prefix: [null, created.body.prefix],
      scopes: [null, ['org:read']],
    });
    const text = JSON.stringify(await entries(owner.tenantId));
    expect(text).not.toContain(secret);
    expect(text).not.toContain(hashOpaqueToken(secret));
  });

  test('a failed sign-in is recorded as a failure in each tenant of the account; an unknown email records nothing', async () => {
    const person = await app.signUp({ name: 'Pat Target' });
    const other = await app.signUp();
    await withTenant(app.database, other.tenantId, (db) =>
      addMember(db, { tenantId: other.tenantId, userId: person.userId, role: 'member' }),
    );
    const counts = async () => [
      (await entries(person.tenantId)).length,
      (await entries(other.tenantId)).length,
    ];
    const [mine = 0, theirs = 0] = await counts();
    const refused = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: 'not the password' },
    });
    expect(refused.status).toBe(401);
    for (const tenantId of [person.tenantId, other.tenantId]) {
      const failed = await entries(tenantId, 'session.sign_in_failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({
        outcome: 'failure',
        actorType: 'user',
        actorId: null,
        targets: [{ type: 'user', id: person.userId, name: 'Pat Target' }],
        metadata: { method: 'password', reason: 'wrong-password' },
      });
    }
    const unknown = await app.request('POST', '/v1/auth/login', {
      body: { email: uniqueEmail('nobody'), password: 'whatever it is' },
    });
    expect(unknown.status).toBe(401);
    expect(await counts()).toEqual([mine + 1, theirs + 1]);
  });

  test('a missing permission is recorded once as access.denied, in its own transaction', async () => {
    const viewer = await joinWithRole(app, owner.tenantId, 'viewer');
    const count = async () => (await entries(owner.tenantId, 'access.denied')).length;
    const before = await count();
    // Refused by Postgres in the route's transaction (which rolls back: no organization, no entry for it).
    const refused = await app.request('POST', '/v1/organizations', {
      token: viewer.token,
      body: { name: 'Not allowed' },
    });
    expect(refused.status).toBe(403);
    expect(await count()).toBe(before + 1);
    const [denied] = (await entries(owner.tenantId, 'access.denied')).slice(-1);
    expect(denied).toMatchObject({
      outcome: 'failure',
      actorType: 'user',
      actorId: viewer.userId,
      actorName: 'Test Person',
      targets: [],
      metadata: { method: 'POST', path: '/v1/organizations', permission: 'org:write' },
    });
    expect(
      (await entries(owner.tenantId, 'organization.created')).map((row) => row.targets),
    ).not.toContainEqual([expect.objectContaining({ name: 'Not allowed' })]);
    // Refused by the deferred check (an invalid body, the check first) and by a key's scopes: once each.
    const invalid = await app.request('POST', '/v1/organizations', {
      token: viewer.token,
      body: { name: 7 },
    });
    expect(invalid.status).toBe(403);
    expect(await count()).toBe(before + 2);
    const key = await app.request('POST', '/v1/api-keys', {
      token: owner.token,
      body: { name: 'Reader', scopes: ['org:read'] },
    });
    const outside = await app.request('POST', '/v1/organizations', {
      token: key.body.secret,
      body: { name: 'By key' },
    });
    expect(outside.status).toBe(403);
    expect(await count()).toBe(before + 3);
    const [byKey] = (await entries(owner.tenantId, 'access.denied')).slice(-1);
    expect(byKey).toMatchObject({ actorType: 'api_key', actorId: key.body.id, actorName: 'Reader' });
  });

  test('a platform admin acts as platform_admin, and the audit entry is the one record (no admin_actions row)', async () => {
    const admin = await app.signUp({ name: 'Ada Admin' });
    expect(await grantPlatformAdmin(app.database, admin.email)).toBe(true);
    const customer = await app.signUp();
    const suspended = await app.request('PATCH', `/v1/admin/tenants/${customer.tenantId}`, {
      token: admin.token,
      body: { status: 'suspended', planId: 'pro' },
    });
    expect(suspended.status).toBe(200);
    const recorded = await entries(customer.tenantId, 'admin.tenant_updated');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      actorType: 'platform_admin',
      actorId: admin.userId,
      actorName: 'Ada Admin',
      changes: { status: ['active', 'suspended'], planId: [null, 'pro'] },
      metadata: { creditsGranted: 1_000 },
    });
    const legacy = await app.database.owner
      .select()
      .from(adminActions)
      .where(sql`${adminActions.targetId} = ${customer.tenantId}`);
    expect(legacy).toEqual([]);
  });

  test('a Stripe webhook effect is recorded as Stripe, once per event', async () => {
    const tenant = await app.signUp();
    const checkout = await app.request('POST', '/v1/billing/checkout', {
      token: tenant.token,
      body: { planId: 'pro' },
    });
    expect(checkout.status).toBe(200);
    const delivered = await stripe.completeCheckout(checkout.body.url.split('/').at(-1) ?? '');
    const paid = delivered.find((event) => event.type === 'invoice.paid');
    if (!paid) throw new Error('no invoice.paid');
    expect((await stripe.deliver(paid)).status).toBe(200);
    expect((await stripe.deliver(paid)).status).toBe(200); // a second delivery changes nothing
    const recorded = await entries(tenant.tenantId, 'billing.invoice_paid');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      actorType: 'system',
      actorId: 'stripe',
      actorName: `Stripe event ${paid.id}`,
      metadata: { stripeEventId: paid.id, stripeEventType: 'invoice.paid', creditsGranted: 1_000 },
    });
    expect(await chainVerifies(app.database, tenant.tenantId)).toBe(true);
  });

  test('an entry rolls back with its change', async () => {
    const before = (await entries(owner.tenantId)).length;
    // Directly: appended, then the transaction fails.
    await expect(
      withTenant(app.database, owner.tenantId, async (db) => {
        await recordAudit(db, owner.tenantId, systemWho('test'), {
          action: 'tenant.updated',
          targets: [],
        });
        throw new Error('the change failed after its entry');
      }),
    ).rejects.toThrow('the change failed after its entry');
    // Through a route: suspending the last owner is refused after the member.updated entry was appended.
    const demoted = await app.request('PATCH', `/v1/members/${owner.userId}`, {
      token: owner.token,
      body: { status: 'suspended' },
    });
    expect(demoted.status).toBe(409);
    expect((await entries(owner.tenantId)).length).toBe(before);
    expect(await chainVerifies(app.database, owner.tenantId)).toBe(true);
  });

  test('a re-used refresh token is recorded, as a failure, in the session’s tenant', async () => {
    const session = await signIn(app, owner);
    const rotated = await app.request('POST', '/v1/auth/refresh', {
      body: { refreshToken: session.refreshToken },
    });
    expect(rotated.status).toBe(200);
    const reused = await app.request('POST', '/v1/auth/refresh', {
      body: { refreshToken: session.refreshToken },
    });
    expect(reused.status).toBe(401);
    const recorded = await entries(owner.tenantId, 'session.refresh_reuse_detected');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      outcome: 'failure',
      targets: [
        { type: 'user', id: owner.userId },
        { type: 'session', id: (await app.tokens.verify(session.token))?.sessionId },
      ],
    });
  });

  test('access tokens name their person: sign-in, refresh and switching tenant', async () => {
    const nameIn = async (token: string) => (await app.tokens.verify(token))?.name;
    const login = await signIn(app, owner);
    expect(await nameIn(login.token)).toBe('Olivia Owner');
    const refreshed = await app.request('POST', '/v1/auth/refresh', {
      body: { refreshToken: login.refreshToken },
    });
    expect(await nameIn(refreshed.body.accessToken)).toBe('Olivia Owner');
    const other = await app.signUp();
    await withTenant(app.database, other.tenantId, (db) =>
      addMember(db, { tenantId: other.tenantId, userId: owner.userId, role: 'member' }),
    );
    const switched = await app.request('POST', '/v1/auth/switch-tenant', {
      token: refreshed.body.accessToken,
      body: { tenantId: other.tenantId },
    });
    expect(switched.status).toBe(200);
    expect(await nameIn(switched.body.accessToken)).toBe('Olivia Owner');
    expect(await nameIn(owner.token)).toBe('Olivia Owner'); // sign-up
  });
});
