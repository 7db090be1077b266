import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import type { Logger } from '../../logger.ts';
import type { Mailer } from '../../mail/mailer.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { limitAuthPerIp } from '../../plugins/rate-limit.ts';
import { personWho, requestContext } from '../audit/record.ts';
import { ProblemModel } from '../shared-model.ts';
import { accountMail } from './mail.ts';
import { VerificationResentModel } from './model.ts';
import { issueEmailToken, resetPassword, verifyEmail } from './service.ts';

const tags = ['auth'];
const Token = t.String({ minLength: 1, maxLength: 200 });

export function accountRoutes(
  deps: AuthDeps & { database: Database; mailer: Mailer; appUrl: string; logger: Logger },
) {
  const { database, rateLimits } = deps;
  const mail = accountMail(deps);
  const limitPerIp = limitAuthPerIp(rateLimits);

  return new Elysia({ name: 'account-routes', prefix: '/v1/auth' })
    .use(authentication(deps))
    .post(
      '/verify-email',
      async ({ body, request, server }) => {
        await verifyEmail(database, body.token, requestContext(request, server, rateLimits.trustProxy));
        return { verified: true as const };
      },
      {
        beforeHandle: limitPerIp,
        body: t.Object({ token: Token }, { additionalProperties: false }),
        response: { 200: t.Object({ verified: t.Literal(true) }), 400: ProblemModel, 422: ProblemModel },
        detail: { tags, summary: 'Confirm an email address with the emailed token' },
      },
    )
    .post(
      '/verify-email/resend',
      async ({ actor, set }) => {
        const issued = await issueEmailToken(database, {
          purpose: 'verify-email',
          userId: actor.userId,
          audit: { who: actor.who, tenantId: actor.tenantId },
        });
        if (issued) await mail.verification(issued.email, issued.token);
        set.status = 202;
        return { sent: issued !== null };
      },
      {
        auth: 'session',
        response: {
          202: VerificationResentModel,
          401: ProblemModel,
        },
        detail: { tags, summary: 'Send the confirmation link again' },
      },
    )
    .post(
      '/password/forgot',
      async ({ body, set, request, server }) => {
        // Whoever asks is anonymous; the account, if there is one, is the target.
        const issued = await issueEmailToken(database, {
          purpose: 'reset-password',
          email: body.email,
          audit: {
            who: personWho({ id: null, name: null }, requestContext(request, server, rateLimits.trustProxy)),
          },
        });
        if (issued) await mail.passwordReset(issued.email, issued.token);
        // The same answer whether or not the address has an account: nothing to enumerate.
        set.status = 202;
        return { accepted: true as const };
      },
      {
        beforeHandle: limitPerIp,
        body: t.Object(
          { email: t.String({ minLength: 3, maxLength: 254 }) },
          { additionalProperties: false },
        ),
        response: { 202: t.Object({ accepted: t.Literal(true) }), 422: ProblemModel, 429: ProblemModel },
        detail: {
          tags,
          summary: 'Email a password-reset link (the answer never tells whether the account exists)',
        },
      },
    )
    .post(
      '/password/reset',
      async ({ body, set, request, server }) => {
        await resetPassword(database, {
          ...body,
          context: requestContext(request, server, rateLimits.trustProxy),
        });
        set.status = 204;
      },
      {
        beforeHandle: limitPerIp,
        body: t.Object(
          { token: Token, password: t.String({ minLength: 8, maxLength: 256 }) },
          { additionalProperties: false },
        ),
        response: { 204: t.Void(), 400: ProblemModel, 422: ProblemModel, 429: ProblemModel },
        detail: {
          tags,
          summary: 'Set a new password with the emailed token (ends every session of the account)',
        },
      },
    );
}
