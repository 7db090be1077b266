/** The permission catalog. Routes declare the permission they need; roles grant sets of them. */
export const permissionCatalog = {
  'tenant:manage': 'Change tenant settings and branding',
  'org:read': 'See organizations',
  'org:write': 'Create, rename, move and delete organizations',
  'members:read': 'See members and their roles',
  'members:invite': 'Invite people',
  'members:manage': 'Change members’ roles, suspend and remove members',
  'roles:manage': 'Create, change and delete custom roles',
  'api-keys:manage': 'Create and revoke API keys',
  'credits:read': 'See the credit balance and ledger',
  'credits:consume': 'Spend credits',
  'credits:grant': 'Grant credits by hand',
  'billing:manage': 'Change the plan and payment details',
  'webhooks:manage': 'Manage webhook endpoints and deliveries',
  'audit:read': 'Read the audit trail',
} as const;

export type Permission = keyof typeof permissionCatalog;

export const allPermissions = Object.keys(permissionCatalog) as Permission[];

export const builtInRoleKeys = ['owner', 'admin', 'billing', 'member', 'viewer'] as const;
export type BuiltInRoleKey = (typeof builtInRoleKeys)[number];

/**
 * Built-in roles, shared by every tenant. Their rows are seeded by a migration with these ids and
 * permissions; a test keeps the two in step.
 */
export const builtInRoles: Record<
  BuiltInRoleKey,
  { id: string; name: string; permissions: readonly Permission[] }
> = {
  owner: { id: '00000000-0000-4000-8000-000000000001', name: 'Owner', permissions: allPermissions },
  admin: {
    id: '00000000-0000-4000-8000-000000000002',
    name: 'Admin',
    permissions: allPermissions.filter((permission) => permission !== 'billing:manage'),
  },
  billing: {
    id: '00000000-0000-4000-8000-000000000003',
    name: 'Billing',
    permissions: ['org:read', 'members:read', 'credits:read', 'billing:manage'],
  },
  member: {
    id: '00000000-0000-4000-8000-000000000004',
    name: 'Member',
    permissions: ['org:read', 'members:read', 'credits:read', 'credits:consume'],
  },
  viewer: {
    id: '00000000-0000-4000-8000-000000000005',
    name: 'Viewer',
    permissions: ['org:read', 'members:read', 'credits:read'],
  },
};
