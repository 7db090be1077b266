import { Elysia, t } from 'elysia';
import type { Mailer } from './mailer.ts';

/**
 * The dev mailbox, for development and the embedded default only: registered when no SMTP relay is
 * configured and NODE_ENV is not production, so invitation and reset links can be followed locally.
 */
export function devMailboxRoutes(mailer: Mailer) {
  return new Elysia({ name: 'dev-mailbox-routes' }).get(
    '/v1/dev/mailbox',
    ({ query }) => ({ items: mailer.recent(query.limit ?? 20) }),
    {
      query: t.Object({ limit: t.Optional(t.Integer({ title: 'limit', minimum: 1, maximum: 100 })) }),
      response: {
        200: t.Object({
          items: t.Array(
            t.Object({
              id: t.String(),
              from: t.String(),
              to: t.String(),
              subject: t.String(),
              text: t.String(),
              sentAt: t.String({ format: 'date-time' }),
            }),
          ),
        }),
      },
      detail: {
        tags: ['development'],
        summary: 'Mail sent while no SMTP relay is configured (development only)',
      },
    },
  );
}
