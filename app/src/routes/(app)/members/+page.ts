import { requirePermission } from '$lib/access/require-permission';
import { listAllMembers, listRoles } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:members');
  const { identity } = await parent();
  requirePermission(identity, 'members:read');
  try {
    const [members, roles] = await Promise.all([listAllMembers(), listRoles()]);
    return { members, roles };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
