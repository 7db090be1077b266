import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { invitations } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import { createLogger } from '../../logger.ts';
import { devMailbox, smtpMailer } from '../../mail/mailer.ts';
import { type SignedUp, startTestApp, type TestApp, uniqueEmail } from '../../testing/harness.ts';
import { linkParameter, startSmtpServer } from '../../testing/smtp.ts';
import { builtInRoles } from '../access/permissions.ts';
import { addMember } from '../access/service.ts';

const tokenIn = (raw: string) => linkParameter(raw, 'token', 'inv_');

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let app: TestApp;
let owner: SignedUp;
const mailbox = devMailbox({
  from: 'test',
  logger: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
});

beforeAll(async () => {
  smtp = await startSmtpServer();
  app = await startTestApp({
    mailer: smtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'Wrapper <no-reply@wrapper.test>' }),
  });
  owner = await app.signUp({ organizationName: 'Inviting Inc' });
});
afterAll(async () => {
  await app.dispose();
  await smtp.close();
});

const invite = (token: string, body: unknown) => app.request('POST', '/v1/invitations', { token, body });
const accept = (body: unknown, token?: string) =>
  app.request('POST', '/v1/invitations/accept', { body, token });

async function invitedToken(email: string, roleIds: string[] = [builtInRoles.member.id], extra: object = {}) {
  const before = smtp.received.length;
  const response = await invite(owner.token, { email, roleIds, ...extra });
  expect(response.status).toBe(201);
  expect(response.body.emailSent).toBe(true);
  // Sign-up also mails a confirmation to the same address: pick the invitation by its subject.
  const mail = smtp.received
    .slice(before)
    .find((message) => message.to.includes(email) && message.raw.includes('Subject: You are invited'));
  if (!mail) throw new Error('no invitation mail received');
  return { invitation: response.body, token: tokenIn(mail.raw), raw: mail.raw };
}

describe('invitations', () => {
  test('a new person accepts through the emailed link and joins with the invited role', async () => {
    const email = uniqueEmail('newcomer');
    const { token, raw } = await invitedToken(email);
    expect(raw).toContain('Subject: You are invited to join Inviting Inc');
    expect(raw).toContain('http://app.wrapper.test/invitations/accept?token=');
    const joined = await accept({ token, name: 'New Comer', password: 'a long password' });
    expect(joined.status).toBe(200);
    expect(joined.body.tenant.id).toBe(owner.tenantId);
    const me = await app.request('GET', '/v1/me', { token: joined.body.accessToken });
    expect(me.body).toMatchObject({ user: { email }, roles: ['member'] });
    expect((await accept({ token, name: 'Again', password: 'a long password' })).body.type).toBe(
      '/problems/invitation-used',
    );
    const pending = await app.request('GET', '/v1/invitations', { token: owner.token });
    expect(pending.body.items.map((item: { email: string }) => item.email)).not.toContain(email);
  });

  test('an existing person accepts with their password, or signed in; the wrong person cannot', async () => {
    const existing = await app.signUp({ organizationName: 'Their own' });
    const { token } = await invitedToken(existing.email, [builtInRoles.viewer.id]);
    expect((await accept({ token, password: 'not their password' })).status).toBe(401);
    const stranger = await app.signUp();
    const mismatch = await accept({ token }, stranger.token);
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.type).toBe('/problems/invitation-email-mismatch');
    const joined = await accept({ token }, existing.token);
    expect(joined.status).toBe(200);
    const me = await app.request('GET', '/v1/me', { token: joined.body.accessToken });
    expect(me.body.memberships.map((membership: { tenantId: string }) => membership.tenantId).sort()).toEqual(
      [existing.tenantId, owner.tenantId].sort(),
    );

    const second = await app.signUp();
    const viaPassword = await invitedToken(second.email);
    expect((await accept({ token: viaPassword.token, password: second.password })).status).toBe(200);
  });

  test('expired, withdrawn, unknown and superseded invitations are refused clearly', async () => {
    const expired = await invitedToken(uniqueEmail('late'));
    await withTenant(app.database, owner.tenantId, (db) =>
      db
        .update(invitations)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(invitations.id, expired.invitation.id)),
    );
    const late = await accept({ token: expired.token, name: 'Late', password: 'a long password' });
    expect([late.status, late.body.type]).toEqual([410, '/problems/invitation-expired']);

    const withdrawn = await invitedToken(uniqueEmail('withdrawn'));
    expect(
      (await app.request('DELETE', `/v1/invitations/${withdrawn.invitation.id}`, { token: owner.token }))
        .status,
    ).toBe(204);
    const refused = await accept({ token: withdrawn.token, name: 'W', password: 'a long password' });
    expect([refused.status, refused.body.type]).toEqual([410, '/problems/invitation-revoked']);

    expect((await accept({ token: 'inv_unknown', name: 'U', password: 'a long password' })).status).toBe(404);
    expect((await accept({ token: 'garbage', name: 'U', password: 'a long password' })).status).toBe(404);

    const email = uniqueEmail('resent');
    const first = await invitedToken(email);
    const resent = await app.request('POST', `/v1/invitations/${first.invitation.id}/resend`, {
      token: owner.token,
    });
    expect(resent.status).toBe(200);
    const newToken = tokenIn(
      smtp.received
        .filter((message) => message.to.includes(email) && message.raw.includes('Subject: You are invited'))
        .at(-1)?.raw ?? '',
    );
    expect((await accept({ token: first.token, name: 'R', password: 'a long password' })).status).toBe(404);
    expect((await accept({ token: newToken, name: 'R', password: 'a long password' })).status).toBe(200);
  });

  test('concurrent accepts of one invitation: exactly one joins', async () => {
    const { token } = await invitedToken(uniqueEmail('race'));
    const results = await Promise.all(
      [1, 2, 3].map(() => accept({ token, name: 'Racer', password: 'a long password' })),
    );
    expect(results.filter((result) => result.status === 200)).toHaveLength(1);
  });

  test('an invitation on one organization grants the role there only', async () => {
    const branch = await app.request('POST', '/v1/organizations', {
      token: owner.token,
      body: { name: 'Branch', parentId: owner.rootOrganizationId },
    });
    const { token } = await invitedToken(uniqueEmail('branch'), [builtInRoles.admin.id], {
      organizationId: branch.body.id,
    });
    const joined = await accept({ token, name: 'Branch Admin', password: 'a long password' });
    const inside = await app.request('POST', '/v1/organizations', {
      token: joined.body.accessToken,
      body: { name: 'Team', parentId: branch.body.id },
    });
    expect(inside.status).toBe(201);
    const outside = await app.request('POST', '/v1/organizations', {
      token: joined.body.accessToken,
      body: { name: 'Root' },
    });
    expect(outside.status).toBe(403);
  });

  test('who may invite, and with which roles', async () => {
    const admin = await app.signUp();
    const member = await app.signUp();
    await withTenant(app.database, owner.tenantId, async (db) => {
      await addMember(db, { tenantId: owner.tenantId, userId: admin.userId, role: 'admin' });
      await addMember(db, { tenantId: owner.tenantId, userId: member.userId, role: 'member' });
    });
    const signIn = async (person: SignedUp) =>
      (
        await app.request('POST', '/v1/auth/login', {
          body: { email: person.email, password: person.password, tenantId: owner.tenantId },
        })
      ).body.accessToken as string;
    const adminToken = await signIn(admin);
    const memberToken = await signIn(member);
    expect(
      (await invite(memberToken, { email: uniqueEmail(), roleIds: [builtInRoles.viewer.id] })).status,
    ).toBe(403);
    // An admin lacks billing:manage, so it cannot hand out the owner role.
    const escalation = await invite(adminToken, { email: uniqueEmail(), roleIds: [builtInRoles.owner.id] });
    expect(escalation.status).toBe(403);
    expect(escalation.body.detail).toContain('billing:manage');
    expect(
      (await invite(adminToken, { email: uniqueEmail(), roleIds: [builtInRoles.member.id] })).status,
    ).toBe(201);
    expect(
      (await invite(owner.token, { email: admin.email, roleIds: [builtInRoles.member.id] })).status,
    ).toBe(409);
  });

  test('bad input and other tenants', async () => {
    for (const body of [
      { email: 'not-an-email', roleIds: [builtInRoles.member.id] },
      { email: uniqueEmail(), roleIds: [] },
      { email: uniqueEmail(), roleIds: [Bun.randomUUIDv7()] },
      { email: uniqueEmail(), roleIds: [builtInRoles.member.id], tenantId: owner.tenantId },
    ]) {
      expect((await invite(owner.token, body)).status).toBe(422);
    }
    const other = await app.signUp({ organizationName: 'Other' });
    const ours = await invite(owner.token, { email: uniqueEmail(), roleIds: [builtInRoles.member.id] });
    expect(
      (await app.request('DELETE', `/v1/invitations/${ours.body.id}`, { token: other.token })).status,
    ).toBe(404);
    expect(
      (await app.request('POST', `/v1/invitations/${ours.body.id}/resend`, { token: other.token })).status,
    ).toBe(404);
    const foreignOrg = await invite(other.token, {
      email: uniqueEmail(),
      roleIds: [builtInRoles.member.id],
      organizationId: owner.rootOrganizationId,
    });
    expect(foreignOrg.status).toBe(422);
    expect((await accept({ token: 'inv_x' })).status).toBe(404);
    expect((await accept({ token: 'inv_x', extra: true })).status).toBe(422);
  });
});

describe('invitation preview', () => {
  const preview = (token: string) =>
    app.request('GET', `/v1/invitations/preview?token=${encodeURIComponent(token)}`);

  test('shows the workspace and address to the token holder, until the invitation is spent', async () => {
    const email = uniqueEmail('preview');
    const { token, invitation } = await invitedToken(email);
    const shown = await preview(token);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({
      tenantName: 'Inviting Inc',
      email,
      expiresAt: invitation.expiresAt,
      accountExists: false,
    });
    await accept({ token, name: 'Previewed', password: 'a long password' });
    expect((await preview(token)).body.type).toBe('/problems/invitation-used');

    const existing = await app.signUp();
    const forExisting = await invitedToken(existing.email);
    expect((await preview(forExisting.token)).body.accountExists).toBe(true);
    await app.request('DELETE', `/v1/invitations/${forExisting.invitation.id}`, { token: owner.token });
    expect((await preview(forExisting.token)).status).toBe(410);

    expect((await preview('inv_unknown')).status).toBe(404);
    expect((await preview('nope')).status).toBe(404);
    expect((await app.request('GET', '/v1/invitations/preview')).status).toBe(422);
  });
});

describe('dev mailbox', () => {
  test('without SMTP, mail is kept in the dev mailbox', async () => {
    const local = await startTestApp({ mailer: mailbox });
    try {
      const person = await local.signUp();
      const email = uniqueEmail('local');
      await local.request('POST', '/v1/invitations', {
        token: person.token,
        body: { email, roleIds: [builtInRoles.member.id] },
      });
      const box = await local.request('GET', '/v1/dev/mailbox');
      expect(box.body.items[0]).toMatchObject({ to: email, subject: expect.stringContaining('invited') });
      expect(box.body.items[0].text).toContain('token=inv_');
    } finally {
      await local.dispose();
    }
  });
});
