import { t } from 'elysia';
import { Timestamp, Uuid } from '../shared-model.ts';

export const InvitationModel = t.Object({
  id: Uuid,
  email: t.String(),
  roleIds: t.Array(Uuid),
  organizationId: t.Union([Uuid, t.Null()]),
  invitedBy: Uuid,
  expiresAt: Timestamp,
  createdAt: Timestamp,
});

export const IssuedInvitationModel = t.Object({
  ...InvitationModel.properties,
  emailSent: t.Boolean({ description: 'Whether the invitation mail went out; if not, resend it' }),
});

export const InvitationList = t.Object({ items: t.Array(InvitationModel), nextCursor: t.Null() });

export const CreateInvitationBody = t.Object(
  {
    email: t.String({ format: 'email', maxLength: 254 }),
    roleIds: t.Array(Uuid, { minItems: 1, maxItems: 20, uniqueItems: true }),
    organizationId: t.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const AcceptInvitationBody = t.Object(
  {
    token: t.String({ minLength: 1, maxLength: 200 }),
    name: t.Optional(t.String({ minLength: 1, maxLength: 120, pattern: '\\S' })),
    password: t.Optional(t.String({ minLength: 8, maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const InvitationParams = t.Object({ id: Uuid });
