import { builtInRoles } from '../features/access/permissions.ts';
import { fanOut } from '../features/webhooks/fanout.ts';
import { type SignedUp, type TestApp, uniqueEmail } from '../testing/harness.ts';

/** One of every resource of a tenant that a path or a body can name, with its owner's means to look. */
export interface TenantFixture {
  tenantId: string;
  ownerToken: string;
  ownerEmail: string;
  ownerPassword: string;
  rootOrganizationId: string;
  /** A child of the root organization. */
  organizationId: string;
  roleId: string;
  /** A second person, joined through an invitation. */
  memberUserId: string;
  invitationId: string;
  apiKeyId: string;
  /** Another session of the owner ("another device"); `ownerToken` stays signed in. */
  ownerSessionId: string;
  reservationId: string;
  /** A ledger entry (the grant). */
  transactionId: string;
  webhookEndpointId: string;
  /** A delivery of a test message to that endpoint (fanned out, never sent: nothing listens here). */
  webhookDeliveryId: string;
  /** Ids, names and addresses only this tenant's own answers may contain. */
  secrets: string[];
}

/** Who attacks B besides A's owner: a person in both tenants, and an API key of A. */
export interface Attackers {
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

const signIn = (app: TestApp, email: string, password: string, tenantId: string) =>
  call(app, 'POST', '/v1/auth/login', { body: { email, password, tenantId } }, 200);

/** Every resource a path or body can name, made in the owner's tenant through the API. */
async function buildTenantResources(app: TestApp, owner: SignedUp, label: string): Promise<TenantFixture> {
  const token = owner.token;
  const memberEmail = uniqueEmail(`${label.toLowerCase()}-member`);
  const joined = await call(
    app,
    'POST',
    '/v1/invitations/accept',
    {
      body: {
        token: await invite(app, token, memberEmail, builtInRoles.member.id),
        name: `${label} member`,
        password: 'member long password',
      },
    },
    200,
  );
  const member = await call(app, 'GET', '/v1/me', { token: joined.accessToken }, 200);
  const pendingEmail = uniqueEmail(`${label.toLowerCase()}-pending`);
  const pending = await call(
    app,
    'POST',
    '/v1/invitations',
    { token, body: { email: pendingEmail, roleIds: [builtInRoles.viewer.id] } },
    201,
  );
  const organization = await call(
    app,
    'POST',
    '/v1/organizations',
    { token, body: { name: `${label} Branch`, parentId: owner.rootOrganizationId } },
    201,
  );
  const role = await call(
    app,
    'POST',
    '/v1/roles',
    { token, body: { name: `${label} Auditors`, permissions: ['org:read'] } },
    201,
  );
  const apiKey = await call(
    app,
    'POST',
    '/v1/api-keys',
    { token, body: { name: `${label} CRM`, scopes: ['org:read'] } },
    201,
  );
  const granted = await call(
    app,
    'POST',
    '/v1/credits/grants',
    { token, body: { amount: 100, reason: `${label} seed` } },
    201,
  );
  const reserved = await call(
    app,
    'POST',
    '/v1/credits/reservations',
    {
      token,
      body: { amount: 10, reason: `${label} job`, ttlSeconds: 3600 },
      headers: { 'idempotency-key': `${label}-job-${crypto.randomUUID()}` },
    },
    201,
  );
  const endpoint = await call(
    app,
    'POST',
    '/v1/webhooks/endpoints',
    {
      token,
      body: { url: `https://hooks.${label.toLowerCase()}.example.com/in`, eventTypes: ['credits.granted'] },
    },
    201,
  );
  await call(app, 'POST', `/v1/webhooks/endpoints/${endpoint.id}/test`, { token }, 202);
  await fanOut(app.database, owner.tenantId);
  const deliveries = await call(
    app,
    'GET',
    `/v1/webhooks/deliveries?endpointId=${endpoint.id}`,
    { token },
    200,
  );
  const delivery = (deliveries.items as Array<{ id: string }>)[0];
  if (!delivery) throw new Error(`no webhook delivery for ${label}'s test message`);
  const otherDevice = await signIn(app, owner.email, owner.password, owner.tenantId);
  const sessions = await call(app, 'GET', '/v1/auth/sessions', { token: otherDevice.accessToken }, 200);
  const otherSession = (sessions.items as Array<{ id: string; current: boolean }>).find(
    (item) => item.current,
  );
  if (!otherSession) throw new Error(`no current session in the list of ${label}'s owner`);
  const resources = {
    tenantId: owner.tenantId,
    ownerToken: token,
    ownerEmail: owner.email,
    ownerPassword: owner.password,
    rootOrganizationId: owner.rootOrganizationId,
    organizationId: organization.id,
    roleId: role.id,
    memberUserId: member.user.id,
    invitationId: pending.id,
    apiKeyId: apiKey.id,
    ownerSessionId: otherSession.id,
    reservationId: reserved.reservation.id,
    transactionId: granted.transaction.id,
    webhookEndpointId: endpoint.id,
    webhookDeliveryId: delivery.id,
  };
  const names = [
    `Tenant ${label}`,
    `${label} Branch`,
    `${label} Auditors`,
    `${label} CRM`,
    `${label} seed`,
    `${label} job`,
    `hooks.${label.toLowerCase()}.example.com`,
  ];
  const ids = Object.entries(resources)
    .filter(([key]) => key.endsWith('Id'))
    .map(([, id]) => id);
  return { ...resources, secrets: [...ids, ...names, owner.email, memberEmail, pendingEmail] };
}

/**
 * Two tenants built only through the API, each with one of every resource: B's are what the attacks
 * aim at, A's are the attackers' own. Mallory joins A as an owner and B as a viewer by invitation.
 */
export async function buildTwoTenants(
  app: TestApp,
): Promise<{ a: TenantFixture; b: TenantFixture; attackers: Attackers }> {
  const a = await buildTenantResources(app, await app.signUp({ organizationName: 'Tenant A' }), 'A');
  const b = await buildTenantResources(app, await app.signUp({ organizationName: 'Tenant B' }), 'B');

  const mallory = { email: uniqueEmail('mallory'), password: 'mallory long password' };
  const toA = await invite(app, a.ownerToken, mallory.email, builtInRoles.owner.id);
  await call(
    app,
    'POST',
    '/v1/invitations/accept',
    { body: { token: toA, name: 'Mallory', password: mallory.password } },
    200,
  );
  const toB = await invite(app, b.ownerToken, mallory.email, builtInRoles.viewer.id);
  await call(
    app,
    'POST',
    '/v1/invitations/accept',
    { body: { token: toB, password: mallory.password } },
    200,
  );
  const malloryA = await signIn(app, mallory.email, mallory.password, a.tenantId);
  // Switching moves a session to the other tenant, so the B-scoped token needs a session of its own.
  const malloryB = await call(
    app,
    'POST',
    '/v1/auth/switch-tenant',
    {
      token: (await signIn(app, mallory.email, mallory.password, a.tenantId)).accessToken,
      body: { tenantId: b.tenantId },
    },
    200,
  );
  const malloryMeB = await call(app, 'GET', '/v1/me', { token: malloryB.accessToken }, 200);

  const catalog = await call(app, 'GET', '/v1/permissions', { token: a.ownerToken }, 200);
  const keyA = await call(
    app,
    'POST',
    '/v1/api-keys',
    {
      token: a.ownerToken,
      body: {
        name: 'A everything',
        scopes: (catalog.items as Array<{ key: string }>).map((item) => item.key),
      },
    },
    201,
  );

  return {
    a,
    b,
    attackers: {
      malloryTokenA: malloryA.accessToken,
      malloryTokenB: malloryB.accessToken,
      malloryPermissionsB: malloryMeB.permissions,
      apiKeyA: keyA.secret,
    },
  };
}
