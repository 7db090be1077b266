import type { Role } from '../api';

/**
 * Unsaved edits of the permission matrix: for each role someone has touched, the permissions it would have.
 * Roles nobody touched are absent and keep what the server says.
 */
export type PermissionEdits = Readonly<Record<string, readonly string[]>>;

/** One role whose permissions differ from the server's: the body of its `PATCH /v1/roles/:id`. */
export interface RolePermissionChange {
  role: Role;
  permissions: string[];
  added: string[];
  removed: string[];
}

/** Whether a role's permissions can be changed here: built-in roles are the same for every tenant. */
export function isEditableRole(role: Role, canManageRoles: boolean): boolean {
  return canManageRoles && !role.builtIn;
}

/** The permissions a role has in the matrix: its unsaved edit, else what the server says. */
export function permissionsInMatrix(role: Role, edits: PermissionEdits): readonly string[] {
  return edits[role.id] ?? role.permissions;
}

/** The edits after ticking or unticking one cell; built-in roles are never edited. */
export function withPermissionToggled(
  edits: PermissionEdits,
  role: Role,
  permission: string,
  granted: boolean,
): PermissionEdits {
  if (role.builtIn) return edits;
  const current = permissionsInMatrix(role, edits);
  const next = granted
    ? current.includes(permission)
      ? current
      : [...current, permission]
    : current.filter((held) => held !== permission);
  return { ...edits, [role.id]: next };
}

/**
 * What saving the matrix must send: one change per custom role whose edited permissions differ from the
 * server's, in the order of `roles`. Permissions are listed in catalog order so the request reads like the
 * matrix; keys the catalog does not know (should the server add one) keep their place at the end.
 */
export function pendingPermissionChanges(
  roles: readonly Role[],
  edits: PermissionEdits,
  catalogOrder: readonly string[],
): RolePermissionChange[] {
  const changes: RolePermissionChange[] = [];
  for (const role of roles) {
    const edited = edits[role.id];
    if (role.builtIn || !edited) continue;
    const saved = new Set(role.permissions);
    const wanted = new Set(edited);
    const added = edited.filter((permission) => !saved.has(permission));
    const removed = role.permissions.filter((permission) => !wanted.has(permission));
    if (added.length === 0 && removed.length === 0) continue;
    changes.push({
      role,
      permissions: inCatalogOrder([...wanted], catalogOrder),
      added: inCatalogOrder(added, catalogOrder),
      removed: inCatalogOrder(removed, catalogOrder),
    });
  }
  return changes;
}

/** The edits still worth keeping once the server's roles have been reloaded: those that still differ. */
export function editsStillPending(
  roles: readonly Role[],
  edits: PermissionEdits,
  catalogOrder: readonly string[],
): PermissionEdits {
  return Object.fromEntries(
    pendingPermissionChanges(roles, edits, catalogOrder).map((change) => [
      change.role.id,
      edits[change.role.id] ?? change.permissions,
    ]),
  );
}

export function inCatalogOrder(permissions: readonly string[], catalogOrder: readonly string[]): string[] {
  const rank = (permission: string) => {
    const index = catalogOrder.indexOf(permission);
    return index === -1 ? catalogOrder.length : index;
  };
  return [...new Set(permissions)].sort((left, right) => rank(left) - rank(right));
}
