import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import type { Logger } from '../../logger.ts';
import type { Mailer } from '../../mail/mailer.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { sessionClient } from '../../plugins/client-address.ts';
import { limitAuthPerIp } from '../../plugins/rate-limit.ts';
import { requestContext } from '../audit/record.ts';
import { describeTenant } from '../auth/service.ts';
import { type SessionPolicy, tokenPairFor } from '../sessions/service.ts';
import { ProblemModel } from '../shared-model.ts';
import {
  AcceptInvitationBody,
  AcceptInvitationResponse,
  CreateInvitationBody,
  InvitationList,
  InvitationParams,
  InvitationPreview,
  IssuedInvitationModel,
} from './model.ts';
import {
  acceptInvitation,
  createInvitation,
  type IssuedInvitation,
  listInvitations,
  previewInvitation,
  renewInvitation,
  revokeInvitation,
} from './service.ts';

const tags = ['invitations'];

export interface InvitationDeps extends AuthDeps {
  database: Database;
  mailer: Mailer;
  logger: Logger;
  sessionPolicy: SessionPolicy;
  appUrl: string;
  invitationTtlHours: number;
}

export function invitationRoutes(deps: InvitationDeps) {
  const { database, mailer, tokens, rateLimits } = deps;

  /** The mail goes out after the invitation is committed; a failed send is reported, not fatal. */
  async function mailInvitation(issued: IssuedInvitation): Promise<boolean> {
    const link = `${deps.appUrl}/invitations/accept?token=${encodeURIComponent(issued.token)}`;
    try {
      await mailer.send({
        to: issued.invitation.email,
        subject: `You are invited to join ${issued.tenantName}`,
        text: [
          `You have been invited to join ${issued.tenantName}.`,
          '',
          `Accept the invitation: ${link}`,
          '',
          `The link works once and expires on ${new Date(issued.invitation.expiresAt).toUTCString()}.`,
        ].join('\n'),
      });
      return true;
    } catch (error) {
      deps.logger.error({ err: error, invitationId: issued.invitation.id }, 'invitation mail failed');
      return false;
    }
  }

  return new Elysia({ name: 'invitation-routes', prefix: '/v1/invitations' })
    .use(authentication(deps))
    .post(
      '',
      async ({ actor, body, set }) => {
        const issued = await withTenant(database, { ...actor, organizationId: body.organizationId }, (db) =>
          createInvitation(db, {
            tenantId: actor.tenantId,
            invitedBy: actor.userId,
            ...body,
            ttlHours: deps.invitationTtlHours,
            who: actor.who,
          }),
        );
        set.status = 201;
        return { ...issued.invitation, emailSent: await mailInvitation(issued) };
      },
      {
        auth: 'members:invite',
        body: CreateInvitationBody,
        response: {
          201: IssuedInvitationModel,
          401: ProblemModel,
          403: ProblemModel,
          409: ProblemModel,
          422: ProblemModel,
        },
        detail: {
          tags,
          summary: 'Invite a person by email with roles (optionally on one organization)',
          description:
            'The inviter must hold every permission of the roles offered. A pending invitation to the same email is replaced.',
        },
      },
    )
    .get(
      '',
      async ({ actor }) => ({ items: await withTenant(database, actor, listInvitations), nextCursor: null }),
      {
        auth: 'members:invite',
        response: { 200: InvitationList, 401: ProblemModel, 403: ProblemModel },
        detail: { tags, summary: 'Pending invitations' },
      },
    )
    .delete(
      '/:id',
      async ({ actor, params, set }) => {
        await withTenant(database, actor, (db) =>
          revokeInvitation(db, { tenantId: actor.tenantId, id: params.id, who: actor.who }),
        );
        set.status = 204;
      },
      {
        auth: 'members:invite',
        params: InvitationParams,
        response: { 204: t.Void(), 401: ProblemModel, 403: ProblemModel, 404: ProblemModel },
        detail: { tags, summary: 'Withdraw a pending invitation' },
      },
    )
    .post(
      '/:id/resend',
      async ({ actor, params }) => {
        const issued = await withTenant(database, actor, (db) =>
          renewInvitation(db, {
            tenantId: actor.tenantId,
            id: params.id,
            ttlHours: deps.invitationTtlHours,
            who: actor.who,
          }),
        );
        return { ...issued.invitation, emailSent: await mailInvitation(issued) };
      },
      {
        auth: 'members:invite',
        params: InvitationParams,
        response: { 200: IssuedInvitationModel, 401: ProblemModel, 403: ProblemModel, 404: ProblemModel },
        detail: {
          tags,
          summary: 'Send a pending invitation again with a fresh link (the old one stops working)',
        },
      },
    )
    .get('/preview', ({ query }) => previewInvitation(database, query.token), {
      beforeHandle: limitAuthPerIp(rateLimits),
      query: t.Object({ token: t.String({ title: 'token', minLength: 1, maxLength: 200 }) }),
      response: {
        200: InvitationPreview,
        404: ProblemModel,
        409: ProblemModel,
        410: ProblemModel,
        422: ProblemModel,
      },
      detail: { tags, summary: 'What an invitation link is for, before accepting it (the token is the key)' },
    })
    .post(
      '/accept',
      async ({ body, headers, request, server }) => {
        // Optional: a signed-in person accepts for themselves.
        const bearer = /^Bearer (\S+)$/.exec(headers.authorization ?? '')?.[1];
        const signedIn = bearer ? await tokens.verify(bearer) : null;
        const joined = await acceptInvitation(database, {
          ...body,
          signedInUserId: signedIn?.userId,
          context: requestContext(request, server, rateLimits.trustProxy),
          session: {
            policy: deps.sessionPolicy,
            client: sessionClient(request, server, rateLimits.trustProxy),
          },
        });
        if (!joined.session) throw new Error('the accepted invitation started no session');
        return {
          ...(await tokenPairFor(tokens, joined.session)),
          tenant: await describeTenant(database, joined),
        };
      },
      {
        beforeHandle: limitAuthPerIp(rateLimits),
        body: AcceptInvitationBody,
        response: {
          200: AcceptInvitationResponse,
          401: ProblemModel,
          403: ProblemModel,
          404: ProblemModel,
          409: ProblemModel,
          410: ProblemModel,
          422: ProblemModel,
        },
        detail: {
          tags,
          summary:
            'Accept an invitation (as a new person, with the invited account’s password, or signed in)',
        },
      },
    );
}
