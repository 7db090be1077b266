import { t } from 'elysia';
import { Timestamp, Uuid } from '../shared-model.ts';

const Name = t.String({ minLength: 1, maxLength: 200, pattern: '\\S' });

export const OrganizationModel = t.Object({
  id: Uuid,
  name: t.String(),
  parentId: t.Union([Uuid, t.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type OrganizationModel = typeof OrganizationModel.static;

export const OrganizationPage = t.Object({
  items: t.Array(OrganizationModel),
  nextCursor: t.Union([Uuid, t.Null()]),
});
export type OrganizationPage = typeof OrganizationPage.static;

export const CreateOrganizationBody = t.Object(
  { name: Name, parentId: t.Optional(t.Union([Uuid, t.Null()])) },
  { additionalProperties: false },
);
export type CreateOrganizationBody = typeof CreateOrganizationBody.static;

export const UpdateOrganizationBody = t.Object(
  { name: t.Optional(Name), parentId: t.Optional(t.Union([Uuid, t.Null()])) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateOrganizationBody = typeof UpdateOrganizationBody.static;

export const OrganizationParams = t.Object({ id: Uuid });
