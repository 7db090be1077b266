import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { smtpMailer } from '../../mail/mailer.ts';
import { startTestApp, type TestApp, uniqueEmail } from '../../testing/harness.ts';
import { linkParameter, type ReceivedMail, startSmtpServer } from '../../testing/smtp.ts';

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let app: TestApp;

beforeAll(async () => {
  smtp = await startSmtpServer();
  app = await startTestApp({
    mailer: smtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'Wrapper <no-reply@wrapper.test>' }),
  });
});
afterAll(async () => {
  await app.dispose();
  await smtp.close();
});

/** Waits for the newest mail to `to` whose subject matches. */
async function mailTo(to: string, subject: string, after = 0): Promise<ReceivedMail> {
  for (let tries = 0; tries < 100; tries++) {
    const found = smtp.received
      .slice(after)
      .filter((mail) => mail.to.includes(to) && mail.raw.includes(`Subject: ${subject}`))
      .at(-1);
    if (found) return found;
    await Bun.sleep(20);
  }
  throw new Error(`no "${subject}" mail to ${to}`);
}

describe('email confirmation', () => {
  test('sign-up mails a confirmation link; it works once', async () => {
    const person = await app.signUp({ email: uniqueEmail('confirm') });
    const mail = await mailTo(person.email, 'Confirm your email address');
    const token = linkParameter(mail.raw, 'token', 'ev_');
    expect((await app.request('GET', '/v1/me', { token: person.token })).body.user.emailVerified).toBe(false);
    const verified = await app.request('POST', '/v1/auth/verify-email', { body: { token } });
    expect(verified.body).toEqual({ verified: true });
    expect((await app.request('GET', '/v1/me', { token: person.token })).body.user.emailVerified).toBe(true);
    expect((await app.request('POST', '/v1/auth/verify-email', { body: { token } })).status).toBe(400);
    const resend = await app.request('POST', '/v1/auth/verify-email/resend', { token: person.token });
    expect(resend.body).toEqual({ sent: false });
  });

  test('a resent link replaces the earlier one', async () => {
    const person = await app.signUp({ email: uniqueEmail('resend') });
    const first = linkParameter(
      (await mailTo(person.email, 'Confirm your email address')).raw,
      'token',
      'ev_',
    );
    const before = smtp.received.length;
    expect((await app.request('POST', '/v1/auth/verify-email/resend', { token: person.token })).status).toBe(
      202,
    );
    const second = linkParameter(
      (await mailTo(person.email, 'Confirm your email address', before)).raw,
      'token',
      'ev_',
    );
    expect((await app.request('POST', '/v1/auth/verify-email', { body: { token: first } })).status).toBe(400);
    expect((await app.request('POST', '/v1/auth/verify-email', { body: { token: second } })).status).toBe(
      200,
    );
  });
});

describe('password reset', () => {
  test('a reset link sets a new password once and signs every session out', async () => {
    const person = await app.signUp({ email: uniqueEmail('reset') });
    const before = smtp.received.length;
    const forgot = await app.request('POST', '/v1/auth/password/forgot', {
      body: { email: person.email.toUpperCase() },
    });
    expect([forgot.status, forgot.body]).toEqual([202, { accepted: true }]);
    const token = linkParameter(
      (await mailTo(person.email, 'Reset your password', before)).raw,
      'token',
      'pr_',
    );

    const reset = await app.request('POST', '/v1/auth/password/reset', {
      body: { token, password: 'a brand new password' },
    });
    expect(reset.status).toBe(204);
    expect((await app.request('GET', '/v1/organizations', { token: person.token })).status).toBe(401);
    expect(
      (await app.request('POST', '/v1/auth/refresh', { body: { refreshToken: person.refreshToken } })).status,
    ).toBe(401);
    const old = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: person.password },
    });
    expect(old.status).toBe(401);
    const fresh = await app.request('POST', '/v1/auth/login', {
      body: { email: person.email, password: 'a brand new password' },
    });
    expect(fresh.status).toBe(200);
    expect(fresh.body.user.emailVerified).toBe(true);
    const again = await app.request('POST', '/v1/auth/password/reset', {
      body: { token, password: 'yet another password' },
    });
    expect(again.status).toBe(400);
  });

  test('an unknown address gets the same answer and no mail', async () => {
    const before = smtp.received.length;
    const email = uniqueEmail('nobody');
    const forgot = await app.request('POST', '/v1/auth/password/forgot', { body: { email } });
    expect([forgot.status, forgot.body]).toEqual([202, { accepted: true }]);
    await Bun.sleep(100);
    expect(smtp.received.slice(before).filter((mail) => mail.to.includes(email))).toEqual([]);
  });

  test('bad input', async () => {
    for (const body of [
      { token: 'pr_unknown', password: 'long enough password' },
      { token: 'ev_wrong-purpose', password: 'long enough password' },
    ]) {
      expect((await app.request('POST', '/v1/auth/password/reset', { body })).status).toBe(400);
    }
    expect(
      (await app.request('POST', '/v1/auth/password/reset', { body: { token: 'pr_x', password: 'short' } }))
        .status,
    ).toBe(422);
    expect((await app.request('POST', '/v1/auth/password/forgot', { body: {} })).status).toBe(422);
    expect(
      (await app.request('POST', '/v1/auth/verify-email', { body: { token: 'ev_x', extra: 1 } })).status,
    ).toBe(422);
  });
});
