import { describe, expect, test } from 'bun:test';
import type { Role } from '../api';
import {
  editsStillPending,
  inCatalogOrder,
  isEditableRole,
  type PermissionEdits,
  pendingPermissionChanges,
  permissionsInMatrix,
  withPermissionToggled,
} from './permission-matrix';

const catalog = ['tenant:manage', 'org:read', 'org:write', 'members:read', 'audit:read'];

function role(id: string, permissions: string[], builtIn = false): Role {
  const timestamp = '2025-01-01T00:00:00.000Z';
  return {
    id,
    key: id,
    name: id,
    description: '',
    permissions,
    builtIn,
    createdAt: timestamp,
    updatedAt: timestamp,
  };
}

const viewer = role('viewer', ['org:read', 'members:read'], true);
const auditor = role('auditor', ['audit:read']);
const support = role('support', ['org:read', 'members:read']);

describe('withPermissionToggled', () => {
  test('grants and takes away a permission of a custom role without touching the others', () => {
    let edits: PermissionEdits = {};
    edits = withPermissionToggled(edits, auditor, 'org:read', true);
    edits = withPermissionToggled(edits, support, 'members:read', false);

    expect(edits).toEqual({ auditor: ['audit:read', 'org:read'], support: ['org:read'] });
    expect(permissionsInMatrix(viewer, edits)).toEqual(['org:read', 'members:read']);
  });

  test('ticking a permission twice does not list it twice', () => {
    const edits = withPermissionToggled({}, auditor, 'audit:read', true);

    expect(edits.auditor).toEqual(['audit:read']);
  });

  test('never edits a built-in role', () => {
    const edits = withPermissionToggled({}, viewer, 'org:write', true);

    expect(edits).toEqual({});
  });
});

describe('pendingPermissionChanges', () => {
  test('lists only custom roles whose permissions changed, each with the full set in catalog order', () => {
    let edits: PermissionEdits = {};
    edits = withPermissionToggled(edits, auditor, 'org:read', true);
    edits = withPermissionToggled(edits, auditor, 'tenant:manage', true);
    edits = withPermissionToggled(edits, support, 'members:read', false);
    edits = withPermissionToggled(edits, support, 'members:read', true);

    const changes = pendingPermissionChanges([viewer, auditor, support], edits, catalog);

    expect(changes).toHaveLength(1);
    expect(changes[0]?.role.id).toBe('auditor');
    expect(changes[0]?.permissions).toEqual(['tenant:manage', 'org:read', 'audit:read']);
    expect(changes[0]?.added).toEqual(['tenant:manage', 'org:read']);
    expect(changes[0]?.removed).toEqual([]);
  });

  test('a role emptied of every permission is still a change to send', () => {
    const edits = withPermissionToggled({}, auditor, 'audit:read', false);

    const [change] = pendingPermissionChanges([auditor], edits, catalog);

    expect(change?.permissions).toEqual([]);
    expect(change?.removed).toEqual(['audit:read']);
  });

  test('ignores edits of roles that no longer exist and any edit of a built-in role', () => {
    const edits: PermissionEdits = { deleted: ['org:read'], viewer: ['tenant:manage'] };

    expect(pendingPermissionChanges([viewer, auditor], edits, catalog)).toEqual([]);
  });
});

describe('editsStillPending', () => {
  test('drops the edits the server now agrees with and keeps the rest', () => {
    let edits: PermissionEdits = {};
    edits = withPermissionToggled(edits, auditor, 'org:read', true);
    edits = withPermissionToggled(edits, support, 'org:write', true);
    const savedAuditor = { ...auditor, permissions: ['org:read', 'audit:read'] };

    expect(editsStillPending([savedAuditor, support], edits, catalog)).toEqual({
      support: ['org:read', 'members:read', 'org:write'],
    });
  });
});

describe('inCatalogOrder', () => {
  test('sorts by the catalog and puts unknown keys last, without duplicates', () => {
    expect(inCatalogOrder(['audit:read', 'future:thing', 'org:read', 'org:read'], catalog)).toEqual([
      'org:read',
      'audit:read',
      'future:thing',
    ]);
  });
});

describe('isEditableRole', () => {
  test('custom roles are editable with roles:manage; built-ins never', () => {
    expect(isEditableRole(auditor, true)).toBe(true);
    expect(isEditableRole(auditor, false)).toBe(false);
    expect(isEditableRole(viewer, true)).toBe(false);
  });
});
