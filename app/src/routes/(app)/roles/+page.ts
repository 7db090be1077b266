import { requirePermission } from '$lib/access/require-permission';
import { listPermissions, listRoles } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:roles');
  const { identity } = await parent();
  requirePermission(identity, 'members:read');
  try {
    const [permissions, roles] = await Promise.all([listPermissions(), listRoles()]);
    return { permissions, roles };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
