import type { BuiltInRole } from '../../../db/schema/index.ts';

/** The permission catalog. Routes declare the permission they need; roles grant sets of them. */
export const permissionCatalog = {
  'tenant:manage': 'Change tenant settings and branding',
  'org:read': 'See organizations',
  'org:write': 'Create, rename, move and delete organizations',
  'members:read': 'See members',
} as const;

export type Permission = keyof typeof permissionCatalog;

const everything = Object.keys(permissionCatalog) as Permission[];

export const builtInRolePermissions: Record<BuiltInRole, readonly Permission[]> = {
  owner: everything,
  admin: everything,
  billing: ['org:read', 'members:read'],
  member: ['org:read', 'members:read'],
  viewer: ['org:read'],
};

export function permissionsOf(role: BuiltInRole): readonly Permission[] {
  return builtInRolePermissions[role];
}
