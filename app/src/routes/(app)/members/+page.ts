import { requirePermission } from '$lib/access/require-permission';
import {
  type Invitation,
  listAllMembers,
  listAllOrganizations,
  listInvitations,
  listRoles,
  type Organization,
} from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import { realtime } from '$lib/realtime/realtime.svelte';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:members', 'app:invitations');
  const { identity } = await parent();
  requirePermission(identity, 'members:read');
  const canInvite = identity.permissions.includes('members:invite');
  // Read before fetching: every change after this seq arrives as an event, and the page applies it.
  const seq = realtime.lastSeq('membership');
  try {
    const [members, roles, invitations, organizations] = await Promise.all([
      listAllMembers(),
      listRoles(),
      canInvite ? listInvitations() : Promise.resolve<Invitation[]>([]),
      // Only offered as a choice in the invite form: without org:read the form invites workspace-wide.
      canInvite && identity.permissions.includes('org:read')
        ? listAllOrganizations().catch(() => [] as Organization[])
        : Promise.resolve<Organization[]>([]),
    ]);
    return { members, roles, invitations, organizations, seq };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
