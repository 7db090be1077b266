import { t } from 'elysia';
import { OrganizationModel } from '../organizations/model.ts';
import { Timestamp, Uuid } from '../shared-model.ts';

const Email = t.String({ format: 'email', maxLength: 254 });
const Password = t.String({ minLength: 8, maxLength: 256 });
const Name = t.String({ minLength: 1, maxLength: 120, pattern: '\\S' });

export const SignupBody = t.Object(
  { email: Email, password: Password, name: Name, organizationName: Name },
  { additionalProperties: false },
);
export type SignupBody = typeof SignupBody.static;

export const LoginBody = t.Object(
  {
    email: t.String({ minLength: 1, maxLength: 254 }),
    password: t.String({ minLength: 1, maxLength: 256 }),
    tenantId: t.Optional(Uuid),
  },
  { additionalProperties: false },
);
export type LoginBody = typeof LoginBody.static;

export const UserModel = t.Object({
  id: Uuid,
  email: t.String(),
  name: t.String(),
  emailVerified: t.Boolean(),
  createdAt: Timestamp,
});
export type UserModel = typeof UserModel.static;
export const TenantModel = t.Object({ id: Uuid, name: t.String(), slug: t.String(), createdAt: Timestamp });
export type TenantModel = typeof TenantModel.static;
const HeadlineRole = t.Union([t.String(), t.Null()], { description: 'The most powerful tenant-wide role' });
export const MembershipModel = t.Object({
  tenantId: Uuid,
  tenantName: t.String(),
  tenantSlug: t.String(),
  role: HeadlineRole,
  roles: t.Array(t.String()),
});
export type MembershipModel = typeof MembershipModel.static;
/** A tenant the person can sign in to, as sign-in lists them. */
export const TenantChoiceModel = t.Object({
  id: Uuid,
  name: t.String(),
  slug: t.String(),
  role: HeadlineRole,
  roles: t.Array(t.String()),
});
export type TenantChoiceModel = typeof TenantChoiceModel.static;

const TokenFields = {
  accessToken: t.String(),
  refreshToken: t.Union([t.String(), t.Null()], {
    description: 'Refresh tokens arrive with sessions; null until then',
  }),
  expiresIn: t.Integer({ description: 'Access-token lifetime in seconds' }),
};

export const SignupResponse = t.Object({
  user: UserModel,
  tenant: TenantModel,
  organization: OrganizationModel,
  ...TokenFields,
});
export type SignupResponse = typeof SignupResponse.static;

export const LoginResponse = t.Object({
  ...TokenFields,
  user: UserModel,
  tenants: t.Array(TenantChoiceModel),
});
export type LoginResponse = typeof LoginResponse.static;

export const MeResponse = t.Object({
  user: UserModel,
  tenant: TenantModel,
  memberships: t.Array(MembershipModel),
  roles: t.Array(t.String()),
  permissions: t.Array(t.String()),
  platformAdmin: t.Boolean({
    description:
      'Whether this signed-in person administers the platform (`/v1/admin`); always false for an API key, which platform administration never accepts',
  }),
});
export type MeResponse = typeof MeResponse.static;
