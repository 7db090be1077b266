import { describe, expect, test } from 'bun:test';
import type { Invitation, Member, Organization, Role, TenantSettings } from '../api';
import {
  applyMembershipEvents,
  applyOrganizationEvents,
  changesOwnAccess,
  newerTenantSettings,
} from './apply';
import { testEvents } from './test-events';

const event = testEvents({
  // `organization.*` events go out on `organizations`; the others on the channel their type starts with.
  channelOf: (type) => {
    const channel = type.split('.')[0] ?? type;
    return channel === 'organization' ? 'organizations' : channel;
  },
  occurredAt: (seq) => `2025-02-0${(seq % 9) + 1}T00:00:00.000Z`,
  startAfter: 100,
});

function organization(id: string, name: string, parentId: string | null = 'root'): Organization {
  return { id, name, parentId, createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z' };
}

describe('applyOrganizationEvents', () => {
  const loaded = [organization('root', 'Acme', null), organization('sales', 'Sales')];

  test('no events: the loaded list itself', () => {
    expect(applyOrganizationEvents(loaded, [])).toBe(loaded);
  });

  test('created, renamed, moved and deleted organizations, in order', () => {
    const result = applyOrganizationEvents(loaded, [
      event('organization.created', { organization: organization('emea', 'EMEA') }),
      event('organization.updated', { organization: organization('emea', 'Europe'), changes: ['name'] }),
      event('organization.updated', {
        organization: organization('emea', 'Europe', 'sales'),
        changes: ['parentId'],
      }),
      event('organization.deleted', { organization: { id: 'sales', name: 'Sales', parentId: 'root' } }),
    ]);
    expect(result).toEqual([organization('root', 'Acme', null), organization('emea', 'Europe', 'sales')]);
  });

  test('idempotent: an event the loaded data already reflects changes nothing', () => {
    const created = event('organization.created', { organization: organization('sales', 'Sales') });
    const deletedTwice = event('organization.deleted', {
      organization: { id: 'gone', name: 'x', parentId: null },
    });
    expect(applyOrganizationEvents(loaded, [created, deletedTwice])).toEqual(loaded);
  });

  test('events of other types are ignored', () => {
    expect(applyOrganizationEvents(loaded, [event('membership.removed', { userId: 'u' })])).toEqual(loaded);
  });
});

const roles: Role[] = [
  { id: 'r-admin', key: 'admin', name: 'Admin' },
  { id: 'r-viewer', key: 'viewer', name: 'Viewer' },
].map((role) => ({
  ...role,
  description: '',
  permissions: [],
  builtIn: true,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
}));

function member(userId: string, roleIds: string[], organizationRoleIds: string[] = []): Member {
  return {
    userId,
    name: userId,
    email: `${userId}@example.com`,
    status: 'active',
    joinedAt: '2025-01-01T00:00:00.000Z',
    roles: [
      ...roleIds.map((roleId) => ({ roleId, key: roleId, name: roleId, organizationId: null })),
      ...organizationRoleIds.map((roleId) => ({
        roleId,
        key: roleId,
        name: roleId,
        organizationId: 'sales',
      })),
    ],
  };
}

function invitation(id: string, email: string): Invitation {
  return {
    id,
    email,
    roleIds: ['r-viewer'],
    organizationId: null,
    invitedBy: 'owner-1',
    expiresAt: '2025-03-01T00:00:00.000Z',
    createdAt: '2025-01-01T00:00:00.000Z',
  };
}

/** An invitation as `membership.invited` carries it. */
function sent(id: string, email: string, roleIds = ['r-viewer'], expiresAt = '2025-03-01T00:00:00.000Z') {
  return { id, email, roleIds, organizationId: null, expiresAt };
}

describe('applyMembershipEvents', () => {
  const state = {
    members: [member('ada', ['r-admin']), member('bob', ['r-admin'], ['r-viewer'])],
    invitations: [invitation('inv-1', 'carol@example.com')],
  };

  test('a new invitation comes first; inviting an address again replaces its earlier invitation', () => {
    const result = applyMembershipEvents(
      state,
      [
        event('membership.invited', { invitation: sent('inv-2', 'dan@example.com') }),
        event('membership.invited', { invitation: sent('inv-3', 'Carol@example.com', ['r-admin']) }),
      ],
      roles,
    );
    expect(result.invitations.map((entry) => entry.id)).toEqual(['inv-3', 'inv-2']);
    expect(result.invitations[0]).toMatchObject({ email: 'Carol@example.com', invitedBy: 'owner-1' });
    expect(result.unknownRoles).toBe(false);
  });

  test('re-sending keeps the invitation in place with its new expiry; withdrawing removes it', () => {
    const resent = applyMembershipEvents(
      state,
      [
        event('membership.invited', {
          invitation: sent('inv-1', 'carol@example.com', ['r-viewer'], '2025-04-01T00:00:00.000Z'),
        }),
      ],
      roles,
    );
    expect(resent.invitations).toEqual([
      { ...invitation('inv-1', 'carol@example.com'), expiresAt: '2025-04-01T00:00:00.000Z' },
    ]);
    const withdrawn = applyMembershipEvents(
      state,
      [event('membership.invitation_revoked', { invitationId: 'inv-1' })],
      roles,
    );
    expect(withdrawn.invitations).toEqual([]);
  });

  test('joining adds the member with named roles and takes the invitation off the pending list', () => {
    const joined = event('membership.joined', {
      member: { userId: 'carol', name: 'Carol', email: 'carol@example.com' },
      roleIds: ['r-viewer'],
      organizationId: null,
      invitationId: 'inv-1',
    });
    const result = applyMembershipEvents(state, [joined], roles);
    expect(result.invitations).toEqual([]);
    expect(result.members.find((entry) => entry.userId === 'carol')).toEqual({
      userId: 'carol',
      name: 'Carol',
      email: 'carol@example.com',
      status: 'active',
      joinedAt: joined.occurredAt,
      roles: [{ roleId: 'r-viewer', key: 'viewer', name: 'Viewer', organizationId: null }],
    });
  });

  test('a role change replaces the tenant-wide roles only; status changes and removals apply', () => {
    const result = applyMembershipEvents(
      state,
      [
        event('membership.role_changed', { userId: 'bob', roleIds: ['r-viewer'] }),
        event('membership.status_changed', { userId: 'ada', status: 'suspended' }),
        event('membership.removed', { userId: 'nobody' }),
      ],
      roles,
    );
    const bob = result.members.find((entry) => entry.userId === 'bob');
    expect(bob?.roles).toEqual([
      { roleId: 'r-viewer', key: 'viewer', name: 'Viewer', organizationId: null },
      { roleId: 'r-viewer', key: 'r-viewer', name: 'r-viewer', organizationId: 'sales' },
    ]);
    expect(result.members.find((entry) => entry.userId === 'ada')?.status).toBe('suspended');
    const removed = applyMembershipEvents(state, [event('membership.removed', { userId: 'ada' })], roles);
    expect(removed.members.map((entry) => entry.userId)).toEqual(['bob']);
  });

  test('a role the page does not know asks for a reload', () => {
    const result = applyMembershipEvents(
      state,
      [event('membership.role_changed', { userId: 'ada', roleIds: ['r-new-custom'] })],
      roles,
    );
    expect(result.unknownRoles).toBe(true);
  });
});

describe('changesOwnAccess', () => {
  test('role, status and removal events about the person themselves', () => {
    expect(changesOwnAccess(event('membership.role_changed', { userId: 'me', roleIds: [] }), 'me')).toBe(
      true,
    );
    expect(
      changesOwnAccess(event('membership.status_changed', { userId: 'me', status: 'active' }), 'me'),
    ).toBe(true);
    expect(changesOwnAccess(event('membership.removed', { userId: 'me' }), 'me')).toBe(true);
    expect(changesOwnAccess(event('membership.removed', { userId: 'someone' }), 'me')).toBe(false);
    expect(
      changesOwnAccess(
        event('membership.joined', {
          member: { userId: 'me', name: 'Me', email: 'me@example.com' },
          roleIds: [],
          organizationId: null,
          invitationId: null,
        }),
        'me',
      ),
    ).toBe(false);
  });
});

describe('newerTenantSettings', () => {
  const loaded: TenantSettings = {
    id: 'tenant-1',
    name: 'Acme',
    slug: 'acme',
    status: 'active',
    branding: { logoUrl: null, primaryColor: null, customDomain: null },
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-02T00:00:00.000Z',
  };

  test('the more recently changed wins; the loaded one on a tie or for another tenant', () => {
    const renamed = { ...loaded, name: 'Acme Two', updatedAt: '2025-01-03T00:00:00.000Z' };
    const older = { ...loaded, name: 'Acme Old', updatedAt: '2025-01-01T00:00:00.000Z' };
    expect(newerTenantSettings(loaded, renamed)).toBe(renamed);
    expect(newerTenantSettings(loaded, older)).toBe(loaded);
    expect(newerTenantSettings(loaded, { ...loaded, name: 'Same time' })).toBe(loaded);
    expect(newerTenantSettings(loaded, { ...renamed, id: 'tenant-2' })).toBe(loaded);
    expect(newerTenantSettings(null, renamed)).toBe(renamed);
    expect(newerTenantSettings(loaded, null)).toBe(loaded);
    expect(newerTenantSettings(undefined, undefined)).toBeNull();
  });
});
