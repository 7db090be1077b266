import type { Logger } from '../../logger.ts';
import type { Mailer } from '../../mail/mailer.ts';

/** Mail that proves an address: confirm it, or reset the password. Sent after the token is committed. */
export function accountMail(deps: { mailer: Mailer; appUrl: string; logger: Logger }) {
  async function send(to: string, subject: string, lines: string[]): Promise<boolean> {
    try {
      await deps.mailer.send({ to, subject, text: lines.join('\n') });
      return true;
    } catch (error) {
      deps.logger.error({ err: error, subject }, 'account mail failed');
      return false;
    }
  }
  return {
    verification: (to: string, token: string) =>
      send(to, 'Confirm your email address', [
        'Confirm your email address for Wrapper:',
        '',
        `${deps.appUrl}/verify-email?token=${encodeURIComponent(token)}`,
        '',
        'The link works once and expires in 7 days.',
      ]),
    passwordReset: (to: string, token: string) =>
      send(to, 'Reset your password', [
        'Someone asked to reset the password of your Wrapper account. If it was you:',
        '',
        `${deps.appUrl}/reset-password?token=${encodeURIComponent(token)}`,
        '',
        'The link works once and expires in 1 hour. If it was not you, ignore this message.',
      ]),
  };
}
