import { t } from 'elysia';
import { SwitchTenantResponse } from '../sessions/model.ts';
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
export type InvitationModel = typeof InvitationModel.static;

export const IssuedInvitationModel = t.Object({
  ...InvitationModel.properties,
  emailSent: t.Boolean({ description: 'Whether the invitation mail went out; if not, resend it' }),
});
export type IssuedInvitationModel = typeof IssuedInvitationModel.static;

export const InvitationList = t.Object({ items: t.Array(InvitationModel), nextCursor: t.Null() });
export type InvitationList = typeof InvitationList.static;

export const InvitationPreview = t.Object({
  tenantName: t.String(),
  email: t.String(),
  expiresAt: Timestamp,
  accountExists: t.Boolean(),
});
export type InvitationPreview = typeof InvitationPreview.static;

/** Joining answers as switching tenant does: a token pair for the joined tenant, and that tenant. */
export const AcceptInvitationResponse = SwitchTenantResponse;
export type AcceptInvitationResponse = SwitchTenantResponse;

export const CreateInvitationBody = t.Object(
  {
    email: t.String({ format: 'email', maxLength: 254 }),
    roleIds: t.Array(Uuid, { minItems: 1, maxItems: 20, uniqueItems: true }),
    organizationId: t.Optional(Uuid),
  },
  { additionalProperties: false },
);
export type CreateInvitationBody = typeof CreateInvitationBody.static;

export const AcceptInvitationBody = t.Object(
  {
    token: t.String({ minLength: 1, maxLength: 200 }),
    name: t.Optional(t.String({ minLength: 1, maxLength: 120, pattern: '\\S' })),
    password: t.Optional(t.String({ minLength: 8, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type AcceptInvitationBody = typeof AcceptInvitationBody.static;

export const InvitationParams = t.Object({ id: Uuid });
