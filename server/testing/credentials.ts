import { SignJWT } from 'jose';
import { withTenant, withTenantAccessChange } from '../../db/tenant.ts';
import { addMember } from '../features/access/service.ts';
import { systemWho } from '../features/audit/record.ts';
import { removeMember } from '../features/members/service.ts';
import { joinWithRole, signIn, TEST_SECRET, type TestApp } from './harness.ts';

/**
 * Every kind of credential a caller must be refused for, built against a running test app: the forged
 * ones (none, garbage, `alg: none`, a wrong key, expired, tampered claims) and real ones that have ended
 * or do not fit (a logged-out session, a revoked key, a key with other scopes, a session that works in
 * another tenant, a removed member), and tokens of another type or algorithm. The REST and the socket suites both walk this list.
 */
export interface CredentialCase {
  name: string;
  /** The bearer token for a route needing `permission` (null: none); null sends no credential at all. */
  tokenFor(permission: string | null): string | null;
  /** The refusal expected on a route needing a permission, membership alone, or a sign-in session. */
  expected: { permission: 401 | 403; member: 401 | 403 | 'allowed'; session: 401 | 403 | 'allowed' };
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const secretKey = (secret: string) => new TextEncoder().encode(secret);

const refused401 = { permission: 401, member: 401, session: 401 } as const;

/** Signs up the people the cases need and returns the cases. */
export async function credentialCases(app: TestApp): Promise<CredentialCase[]> {
  const person = await app.signUp({ organizationName: 'Credential Cases' });
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: person.userId,
    tid: person.tenantId,
    typ: 'access',
    iss: 'wrapper',
    aud: 'wrapper-api',
    iat: now,
    exp: now + 600,
  };
  const [, payload, signature] = person.token.split('.');
  const other = await app.signUp({ organizationName: 'Credential Cases Elsewhere' });
  const tampered = { ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), tid: other.tenantId };

  const loggedOut = (await signIn(app, person)).token;
  const logout = await app.request('POST', '/v1/auth/logout', { token: loggedOut });
  if (logout.status !== 204) throw new Error(`logout failed: ${logout.status}`);

  const revokedKey = await createKey(app, person.token, ['org:read', 'credits:read']);
  const revoke = await app.request('DELETE', `/v1/api-keys/${revokedKey.id}`, { token: person.token });
  if (revoke.status !== 204) throw new Error(`revoking failed: ${revoke.status}`);
  // Two keys of one scope each: a route needing one of them is called with the other.
  const narrowKeys = [
    await createKey(app, person.token, ['members:invite']),
    await createKey(app, person.token, ['org:read']),
  ] as const;
  const keyWithout = (permission: string | null) =>
    (permission === 'members:invite' ? narrowKeys[1] : narrowKeys[0]).secret;

  // A person in both tenants: their session works in `other`'s tenant; a token naming the first
  // tenant around that session must not pass (only the signing key could make one).
  await withTenant(app.database, other.tenantId, (db) =>
    addMember(db, { tenantId: other.tenantId, userId: person.userId, role: 'owner' }),
  );
  const elsewhere = await app.request('POST', '/v1/auth/switch-tenant', {
    token: (await signIn(app, person)).token,
    body: { tenantId: other.tenantId },
  });
  if (elsewhere.status !== 200) throw new Error(`switch failed: ${elsewhere.status}`);
  const movedSession = (await app.tokens.verify(elsewhere.body.accessToken))?.sessionId;
  const sessionOfAnotherTenant = await app.tokens.sign({
    userId: person.userId,
    tenantId: person.tenantId,
    sessionId: movedSession,
  });

  const removed = await joinWithRole(app, person.tenantId, 'admin');
  const removedToken = removed.token;
  await withTenantAccessChange(app.database, person.tenantId, (db) =>
    removeMember(db, { tenantId: person.tenantId, userId: removed.userId, who: systemWho('test') }),
  );
  const fixed = (token: string | null) => () => token;

  return [
    { name: 'no credential', tokenFor: fixed(null), expected: refused401 },
    { name: 'garbage', tokenFor: fixed('not-a-jwt'), expected: refused401 },
    {
      name: 'alg none',
      tokenFor: fixed(`${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`),
      expected: refused401,
    },
    {
      name: 'wrong key',
      tokenFor: fixed(
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256' })
          .sign(secretKey('another-secret-that-is-long-enough-0123456789')),
      ),
      expected: refused401,
    },
    {
      name: 'expired',
      tokenFor: fixed(
        await new SignJWT({ ...claims, iat: now - 3600, exp: now - 60 })
          .setProtectedHeader({ alg: 'HS256' })
          .sign(secretKey(TEST_SECRET)),
      ),
      expected: refused401,
    },
    {
      name: 'tampered claims',
      tokenFor: fixed(`${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(tampered)}.${signature}`),
      expected: refused401,
    },
    {
      name: 'refresh-type token',
      tokenFor: fixed(
        await new SignJWT({ ...claims, typ: 'refresh' })
          .setProtectedHeader({ alg: 'HS256' })
          .sign(secretKey(TEST_SECRET)),
      ),
      expected: refused401,
    },
    {
      name: 'another algorithm (HS512)',
      tokenFor: fixed(
        await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).sign(secretKey(TEST_SECRET)),
      ),
      expected: refused401,
    },
    { name: 'logged-out session', tokenFor: fixed(loggedOut), expected: refused401 },
    { name: 'revoked API key', tokenFor: fixed(revokedKey.secret), expected: refused401 },
    {
      name: 'API key with other scopes',
      tokenFor: keyWithout,
      expected: { permission: 403, member: 'allowed', session: 403 },
    },
    {
      name: 'session working in another tenant',
      tokenFor: fixed(sessionOfAnotherTenant),
      expected: refused401,
    },
    // Logging out and the other sign-in routes stay open to a live session whose membership ended.
    {
      name: 'removed member',
      tokenFor: fixed(removedToken),
      expected: { permission: 401, member: 401, session: 'allowed' },
    },
  ];
}

async function createKey(
  app: TestApp,
  token: string,
  scopes: string[],
): Promise<{ id: string; secret: string }> {
  const created = await app.request('POST', '/v1/api-keys', { token, body: { name: 'case', scopes } });
  if (created.status !== 201) throw new Error(`key failed: ${JSON.stringify(created.body)}`);
  return created.body;
}
