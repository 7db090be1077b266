import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { AppError } from '../../errors.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { systemWho } from '../audit/record.ts';
import { problemsFor } from '../shared-model.ts';
import { grantPlatformAdmin } from './grant.ts';
import { verifyOperatorToken } from './operator-token.ts';
import { redeemPlatformSetup } from './setup.ts';

const tags = ['admin'];

/**
 * Making platform admins: the one-time setup link printed at start while there is none, and the
 * operator's `bun run admin:create` reaching a running server.
 */
export function platformSetupRoutes(deps: AuthDeps & { database: Database; operatorSecret: string }) {
  const { database } = deps;
  const operatorEmails = new WeakMap<Request, string>();
  return new Elysia({ name: 'platform-setup-routes', prefix: '/v1/admin' })
    .use(authentication(deps))
    .post(
      '/setup',
      async ({ actor, body }) => {
        const granted = await redeemPlatformSetup(database, {
          token: body.token,
          userId: actor.userId,
          who: actor.who,
        });
        if (!granted) throw new AppError('setup-link-invalid');
        return { platformAdmin: true as const };
      },
      {
        auth: 'session',
        body: t.Object({ token: t.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: t.Object({ platformAdmin: t.Literal(true) }), ...problemsFor(401, 403, 410, 422) },
        detail: {
          tags,
          summary: 'Become the platform admin with the one-time link printed at start',
          description:
            'While no platform admin exists, every start of the server prints a link `/admin/setup#<token>`; the signed-in person who opens it becomes the platform admin. The link works once and for 24 hours.',
        },
      },
    )
    .post(
      '/operator/platform-admins',
      async ({ request, body }) => {
        const email = operatorEmails.get(request);
        if (!email)
          throw new AppError('unauthorized', 'Send an operator token made by `bun run admin:create`.');
        if (email.trim().toLowerCase() !== body.email.trim().toLowerCase()) {
          throw new AppError('forbidden', 'The operator token was made for another email.');
        }
        if (!(await grantPlatformAdmin(database, body.email, systemWho('operator')))) {
          throw new AppError('not-found', `No account with the email ${body.email}; sign up first.`);
        }
        return { email: body.email, platformAdmin: true as const };
      },
      {
        // The token is checked before the body is validated: a caller without one learns nothing more.
        async transform({ request, headers }) {
          const bearer = /^Bearer (\S+)$/.exec(headers.authorization ?? '')?.[1];
          const email = bearer ? await verifyOperatorToken(deps.operatorSecret, bearer) : null;
          if (!email)
            throw new AppError('unauthorized', 'Send an operator token made by `bun run admin:create`.');
          operatorEmails.set(request, email);
        },
        body: t.Object({ email: t.String({ format: 'email', maxLength: 320 }) }),
        response: {
          200: t.Object({ email: t.String(), platformAdmin: t.Literal(true) }),
          ...problemsFor(401, 403, 404, 422),
        },
        detail: {
          tags,
          summary: 'Make a person a platform admin (operator token from `bun run admin:create`)',
          security: [{ bearer: [] }],
          'x-operator-token': true,
        },
      },
    );
}
