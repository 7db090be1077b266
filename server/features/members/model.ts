import { t } from 'elysia';
import { Timestamp, Uuid } from '../shared-model.ts';

export const MemberModel = t.Object({
  userId: Uuid,
  name: t.String(),
  email: t.String(),
  status: t.Union([t.Literal('active'), t.Literal('suspended')]),
  joinedAt: Timestamp,
  roles: t.Array(
    t.Object({
      roleId: Uuid,
      key: t.String(),
      name: t.String(),
      organizationId: t.Union([Uuid, t.Null()], { description: 'null: tenant-wide' }),
    }),
  ),
});
export type MemberModel = typeof MemberModel.static;

export const MemberPage = t.Object({ items: t.Array(MemberModel), nextCursor: t.Union([Uuid, t.Null()]) });
export type MemberPage = typeof MemberPage.static;

export const UpdateMemberBody = t.Object(
  {
    roleIds: t.Optional(
      t.Array(Uuid, {
        minItems: 1,
        maxItems: 20,
        uniqueItems: true,
        description: 'Replaces the tenant-wide roles',
      }),
    ),
    status: t.Optional(t.Union([t.Literal('active'), t.Literal('suspended')])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateMemberBody = typeof UpdateMemberBody.static;

export const MemberParams = t.Object({ userId: Uuid });
