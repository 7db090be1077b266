import { describe, expect, test } from 'bun:test';
import type { Member } from '../api';
import { initialsOf, organizationRoles, sameRoleIds, sortMembers, tenantWideRoles } from './members';

function member(name: string, email: string, roles: Member['roles'] = []): Member {
  return { userId: email, name, email, status: 'active', joinedAt: '2025-01-01T00:00:00.000Z', roles };
}

describe('tenant-wide and organization roles', () => {
  test('split by organizationId', () => {
    const ada = member('Ada', 'ada@example.com', [
      { roleId: 'r-admin', key: 'admin', name: 'Admin', organizationId: null },
      { roleId: 'r-viewer', key: 'viewer', name: 'Viewer', organizationId: 'org-sales' },
    ]);

    expect(tenantWideRoles(ada).map((role) => role.key)).toEqual(['admin']);
    expect(organizationRoles(ada).map((role) => role.key)).toEqual(['viewer']);
  });
});

describe('sortMembers', () => {
  test('orders by name regardless of case, then by email', () => {
    const sorted = sortMembers([
      member('bob', 'bob@example.com'),
      member('Ada', 'ada2@example.com'),
      member('ada', 'ada1@example.com'),
    ]);

    expect(sorted.map((entry) => entry.email)).toEqual([
      'ada1@example.com',
      'ada2@example.com',
      'bob@example.com',
    ]);
  });
});

describe('sameRoleIds', () => {
  test('ignores order but not membership', () => {
    expect(sameRoleIds(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameRoleIds(['a'], ['a', 'b'])).toBe(false);
    expect(sameRoleIds(['a', 'c'], ['a', 'b'])).toBe(false);
  });
});

describe('initialsOf', () => {
  test('takes up to two words, else the first letter of the email', () => {
    expect(initialsOf('Ada King Lovelace', 'ada@example.com')).toBe('AK');
    expect(initialsOf('  ', 'zoe@example.com')).toBe('Z');
  });
});
