import type { RealtimeEvent } from '../../../../realtime/client.ts';
import type { EventData, EventType } from '../../../../realtime/events.ts';
import type { Invitation, Member, MemberRole, Organization, Role, TenantSettings } from '../api';

// Live events applied to what a page loaded. A page keeps the events that arrived after the seq its data was
// loaded at and folds them over that data; every fold is idempotent (an upsert, a removal, a replacement), so
// an event the loaded data already reflects changes nothing, and the newest event about a thing wins.

export type { RealtimeEvent };

/** Narrows an event to one type, with its `data`. */
export function isEventOf<Type extends EventType>(
  event: RealtimeEvent,
  type: Type,
): event is RealtimeEvent & { type: Type; data: EventData<Type> } {
  return event.type === type;
}

/** The person behind an event (the key's owner for an API key); `null` for the system. */
export function actorUserId(event: RealtimeEvent): string | null {
  if (event.actor.type === 'user') return event.actor.id;
  if (event.actor.type === 'api_key') return event.actor.userId;
  return null;
}

/** Organizations created, renamed, moved and deleted since the list was loaded. */
export function applyOrganizationEvents(
  organizations: readonly Organization[],
  events: readonly RealtimeEvent[],
): readonly Organization[] {
  if (events.length === 0) return organizations;
  const byId = new Map(organizations.map((organization) => [organization.id, organization]));
  for (const event of events) {
    if (isEventOf(event, 'organization.created') || isEventOf(event, 'organization.updated')) {
      const { organization } = event.data;
      byId.set(organization.id, { ...organization });
    } else if (isEventOf(event, 'organization.deleted')) {
      byId.delete(event.data.organization.id);
    }
  }
  return [...byId.values()];
}

export interface MembershipState {
  members: readonly Member[];
  /** Pending invitations, newest first. */
  invitations: readonly Invitation[];
}

export interface AppliedMembership extends MembershipState {
  /** An event named a role the page does not know (made after it loaded): the page should load again. */
  unknownRoles: boolean;
}

/**
 * Invitations sent, re-sent and withdrawn, people joining, role and status changes and removals since the
 * members page loaded. Role names come from `roles`; a role id not among them sets `unknownRoles`.
 */
export function applyMembershipEvents(
  state: MembershipState,
  events: readonly RealtimeEvent[],
  roles: readonly Role[],
): AppliedMembership {
  if (events.length === 0) return { ...state, unknownRoles: false };
  const members = new Map(state.members.map((member) => [member.userId, member]));
  let invitations = [...state.invitations];
  let unknownRoles = false;

  const rolesOf = (roleIds: readonly string[], organizationId: string | null): MemberRole[] =>
    roleIds.flatMap((roleId) => {
      const role = roles.find((candidate) => candidate.id === roleId);
      if (!role) {
        unknownRoles = true;
        return [];
      }
      return [{ roleId, key: role.key, name: role.name, organizationId }];
    });

  for (const event of events) {
    if (isEventOf(event, 'membership.invited')) {
      const sent = event.data.invitation;
      const known = invitations.find((invitation) => invitation.id === sent.id);
      const invitation: Invitation = {
        ...sent,
        invitedBy: known?.invitedBy ?? actorUserId(event) ?? '',
        createdAt: known?.createdAt ?? event.occurredAt,
      };
      if (known) {
        invitations = invitations.map((candidate) => (candidate.id === sent.id ? invitation : candidate));
      } else {
        // Inviting an address again withdraws its earlier invitation (the server does so without an event).
        const email = sent.email.toLowerCase();
        invitations = [
          invitation,
          ...invitations.filter((candidate) => candidate.email.toLowerCase() !== email),
        ];
      }
    } else if (isEventOf(event, 'membership.invitation_revoked')) {
      invitations = invitations.filter((invitation) => invitation.id !== event.data.invitationId);
    } else if (isEventOf(event, 'membership.joined')) {
      const { member, roleIds, organizationId, invitationId } = event.data;
      if (invitationId) invitations = invitations.filter((invitation) => invitation.id !== invitationId);
      members.set(member.userId, {
        ...member,
        status: 'active',
        joinedAt: members.get(member.userId)?.joinedAt ?? event.occurredAt,
        roles: rolesOf(roleIds, organizationId),
      });
    } else if (isEventOf(event, 'membership.role_changed')) {
      const member = members.get(event.data.userId);
      if (!member) continue;
      members.set(member.userId, {
        ...member,
        // Only the tenant-wide roles are replaced; roles limited to an organization stay.
        roles: [
          ...rolesOf(event.data.roleIds, null),
          ...member.roles.filter((role) => role.organizationId !== null),
        ],
      });
    } else if (isEventOf(event, 'membership.status_changed')) {
      const member = members.get(event.data.userId);
      if (member) members.set(member.userId, { ...member, status: event.data.status });
    } else if (isEventOf(event, 'membership.removed')) {
      members.delete(event.data.userId);
    }
  }
  return { members: [...members.values()], invitations, unknownRoles };
}

/** Whether an event is about the person themselves and may change what they can do. */
export function changesOwnAccess(event: RealtimeEvent, userId: string): boolean {
  return (
    (isEventOf(event, 'membership.role_changed') ||
      isEventOf(event, 'membership.status_changed') ||
      isEventOf(event, 'membership.removed')) &&
    event.data.userId === userId
  );
}

/** The more recently changed of two versions of the tenant's settings (the loaded one on a tie). */
export function newerTenantSettings(
  loaded: TenantSettings | null | undefined,
  live: TenantSettings | null | undefined,
): TenantSettings | null {
  if (!live || (loaded && loaded.id !== live.id)) return loaded ?? null;
  if (!loaded) return live;
  return Date.parse(live.updatedAt) > Date.parse(loaded.updatedAt) ? live : loaded;
}
