import { describe, expect, test } from 'bun:test';
import type { Organization } from '../api';
import { buildOrganizationTree, countDescendants, flattenOrganizationTree, subtreeIds } from './tree';

function organization(id: string, name: string, parentId: string | null): Organization {
  const timestamp = '2025-01-01T00:00:00.000Z';
  return { id, name, parentId, createdAt: timestamp, updatedAt: timestamp };
}

const acme = organization('acme', 'Acme', null);
const sales = organization('sales', 'Sales', 'acme');
const emea = organization('emea', 'EMEA', 'sales');
const engineering = organization('engineering', 'Engineering', 'acme');

describe('buildOrganizationTree', () => {
  test('nests organizations under their parent, siblings by name', () => {
    const [root, ...otherRoots] = buildOrganizationTree([sales, emea, acme, engineering]);

    expect(otherRoots).toEqual([]);
    expect(root?.organization.name).toBe('Acme');
    expect(root?.children.map((child) => child.organization.name)).toEqual(['Engineering', 'Sales']);
    expect(root?.children[1]?.children.map((child) => [child.organization.name, child.depth])).toEqual([
      ['EMEA', 2],
    ]);
  });

  test('shows an organization whose parent is missing as a root', () => {
    const roots = buildOrganizationTree([emea, acme]);

    expect(roots.map((root) => root.organization.name)).toEqual(['Acme', 'EMEA']);
  });

  test('keeps every member of a cycle visible', () => {
    const left = organization('left', 'Left', 'right');
    const right = organization('right', 'Right', 'left');

    const names = flattenOrganizationTree(buildOrganizationTree([left, right])).map(
      (node) => node.organization.name,
    );

    expect(names.sort()).toEqual(['Left', 'Right']);
  });
});

describe('subtreeIds and countDescendants', () => {
  test('cover a node and everything beneath it', () => {
    const [root] = buildOrganizationTree([acme, sales, emea, engineering]);
    const salesNode = root?.children.find((child) => child.organization.id === 'sales');
    if (!root || !salesNode) throw new Error('tree is missing Acme or Sales');

    expect([...subtreeIds(salesNode)].sort()).toEqual(['emea', 'sales']);
    expect(countDescendants(root)).toBe(3);
  });
});
