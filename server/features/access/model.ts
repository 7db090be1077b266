import { t } from 'elysia';
import { Timestamp, Uuid } from '../shared-model.ts';
import { allPermissions } from './permissions.ts';

export const PermissionKey = t.Union(
  allPermissions.map((key) => t.Literal(key)),
  { description: 'A key from the permission catalog (GET /v1/permissions)' },
);

export const PermissionList = t.Object({
  items: t.Array(t.Object({ key: t.String(), description: t.String() })),
});
export type PermissionList = typeof PermissionList.static;

export const RoleModel = t.Object({
  id: Uuid,
  key: t.String(),
  name: t.String(),
  description: t.String(),
  permissions: t.Array(t.String()),
  builtIn: t.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type RoleModel = typeof RoleModel.static;

export const RoleList = t.Object({ items: t.Array(RoleModel), nextCursor: t.Null() });
export type RoleList = typeof RoleList.static;

const RoleName = t.String({ minLength: 1, maxLength: 80, pattern: '\\S' });
const Permissions = t.Array(PermissionKey, { maxItems: allPermissions.length, uniqueItems: true });

export const CreateRoleBody = t.Object(
  {
    name: RoleName,
    description: t.Optional(t.String({ maxLength: 500 })),
    permissions: Permissions,
  },
  { additionalProperties: false },
);
export type CreateRoleBody = typeof CreateRoleBody.static;

export const UpdateRoleBody = t.Object(
  {
    name: t.Optional(RoleName),
    description: t.Optional(t.String({ maxLength: 500 })),
    permissions: t.Optional(Permissions),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateRoleBody = typeof UpdateRoleBody.static;

export const RoleParams = t.Object({ id: Uuid });
