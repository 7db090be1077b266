import { builtInRoles } from '../features/access/permissions.ts';
import { type TestApp, uniqueEmail } from '../testing/harness.ts';

const OWNER_ROLE_ID = builtInRoles.owner.id;
const MEMBER_ROLE_ID = builtInRoles.member.id;
const VIEWER_ROLE_ID = builtInRoles.viewer.id;

/** The ids of tenant B that a path can name: what the attacks aim at. */
export interface TenantBFixture {
  tenantId: string;
  ownerToken: string;
  organizationId: string;
  roleId: string;
  memberUserId: string;
  invitationId: string;
  apiKeyId: string;
  /** Another session of B's owner ("another device"); the owner's token above stays signed in. */
  ownerSessionId: string;
  reservationId: string;
}

/** Who attacks B: tenant A's owner, a person in both tenants, and an API key of A. */
export interface Attackers {
  tenantAId: string;
  aliceToken: string;
  /** Owner of A and viewer of B, signed in to A. */
  malloryTokenA: string;
  /** The same person signed in to B, where she may only read. */
  malloryTokenB: string;
  /** The permissions Mallory's B-scoped token holds, as GET /v1/me tells her. */
  malloryPermissionsB: string[];
  /** An API key of A holding every scope of the catalog. */
  apiKeyA: string;
}

async function call(
  app: TestApp,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> },
  expected: number,
) {
  const response = await app.request(method, path, options);
  if (response.status !== expected)
    throw new Error(
      `${method} ${path}: ${response.status} ${JSON.stringify(response.body)} (wanted ${expected})`,
    );
  return response.body;
}

/** The invitation link's token, read from the dev mailbox as the invited person would read their mail. */
async function invitationToken(app: TestApp, email: string): Promise<string> {
  const box = await call(app, 'GET', '/v1/dev/mailbox?limit=100', {}, 200);
  const mail = (box.items as Array<{ to: string; subject: string; text: string }>).find(
    (item) => item.to === email && item.subject.includes('invited'),
  );
  const token = mail && /[?&]token=([^\s&]+)/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no invitation mail for ${email}`);
  return decodeURIComponent(token);
}

async function invite(app: TestApp, token: string, email: string, roleId: string) {
  await call(app, 'POST', '/v1/invitations', { token, body: { email, roleIds: [roleId] } }, 201);
  return invitationToken(app, email);
}

/**
 * Two tenants built only through the API: B holds one of every resource a path can name; A's people
 * and key are the attackers. Mallory joins A as an owner and B as a viewer through invitations.
 */
export async function buildTwoTenants(app: TestApp): Promise<{ b: TenantBFixture; attackers: Attackers }> {
  const alice = await app.signUp({ organizationName: 'Tenant A' });
  const bOwner = await app.signUp({ organizationName: 'Tenant B' });
  const owner = bOwner.token;

  const mallory = { email: uniqueEmail('mallory'), password: 'mallory long password' };
  const toA = await invite(app, alice.token, mallory.email, OWNER_ROLE_ID);
  await call(
    app,
    'POST',
    '/v1/invitations/accept',
    { body: { token: toA, name: 'Mallory', password: mallory.password } },
    200,
  );
  const toB = await invite(app, owner, mallory.email, VIEWER_ROLE_ID);
  await call(
    app,
    'POST',
    '/v1/invitations/accept',
    { body: { token: toB, password: mallory.password } },
    200,
  );

  const bobEmail = uniqueEmail('bob');
  const toBob = await invite(app, owner, bobEmail, MEMBER_ROLE_ID);
  const bob = await call(
    app,
    'POST',
    '/v1/invitations/accept',
    { body: { token: toBob, name: 'Bob', password: 'bob long password' } },
    200,
  );
  const bobMe = await call(app, 'GET', '/v1/me', { token: bob.accessToken }, 200);

  const pending = await call(
    app,
    'POST',
    '/v1/invitations',
    { token: owner, body: { email: uniqueEmail('pending'), roleIds: [VIEWER_ROLE_ID] } },
    201,
  );
  const organization = await call(
    app,
    'POST',
    '/v1/organizations',
    { token: owner, body: { name: 'B Branch', parentId: bOwner.rootOrganizationId } },
    201,
  );
  const role = await call(
    app,
    'POST',
    '/v1/roles',
    { token: owner, body: { name: 'B Auditors', permissions: ['org:read'] } },
    201,
  );
  const apiKey = await call(
    app,
    'POST',
    '/v1/api-keys',
    { token: owner, body: { name: 'B CRM', scopes: ['org:read'] } },
    201,
  );
  await call(
    app,
    'POST',
    '/v1/credits/grants',
    { token: owner, body: { amount: 100, reason: 'B seed' } },
    201,
  );
  const reserved = await call(
    app,
    'POST',
    '/v1/credits/reservations',
    {
      token: owner,
      body: { amount: 10, reason: 'B job', ttlSeconds: 3600 },
      headers: { 'idempotency-key': `b-job-${crypto.randomUUID()}` },
    },
    201,
  );
  const otherDevice = await call(
    app,
    'POST',
    '/v1/auth/login',
    { body: { email: bOwner.email, password: bOwner.password, tenantId: bOwner.tenantId } },
    200,
  );
  const sessions = await call(app, 'GET', '/v1/auth/sessions', { token: otherDevice.accessToken }, 200);
  const ownerSession = (sessions.items as Array<{ id: string; current: boolean }>).find(
    (item) => item.current,
  );
  if (!ownerSession) throw new Error("no current session in B owner's list");

  const signInToA = () =>
    call(app, 'POST', '/v1/auth/login', { body: { ...mallory, tenantId: alice.tenantId } }, 200);
  const malloryA = await signInToA();
  // Switching moves a session to the other tenant, so the B-scoped token needs a session of its own.
  const malloryB = await call(
    app,
    'POST',
    '/v1/auth/switch-tenant',
    { token: (await signInToA()).accessToken, body: { tenantId: bOwner.tenantId } },
    200,
  );
  const malloryMeB = await call(app, 'GET', '/v1/me', { token: malloryB.accessToken }, 200);

  const catalog = await call(app, 'GET', '/v1/permissions', { token: alice.token }, 200);
  const keyA = await call(
    app,
    'POST',
    '/v1/api-keys',
    {
      token: alice.token,
      body: {
        name: 'A everything',
        scopes: (catalog.items as Array<{ key: string }>).map((item) => item.key),
      },
    },
    201,
  );

  return {
    b: {
      tenantId: bOwner.tenantId,
      ownerToken: owner,
      organizationId: organization.id,
      roleId: role.id,
      memberUserId: bobMe.user.id,
      invitationId: pending.id,
      apiKeyId: apiKey.id,
      ownerSessionId: ownerSession.id,
      reservationId: reserved.reservation.id,
    },
    attackers: {
      tenantAId: alice.tenantId,
      aliceToken: alice.token,
      malloryTokenA: malloryA.accessToken,
      malloryTokenB: malloryB.accessToken,
      malloryPermissionsB: malloryMeB.permissions,
      apiKeyA: keyA.secret,
    },
  };
}
