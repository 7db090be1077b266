import type { Organization } from '../api';

export interface OrganizationNode {
  organization: Organization;
  depth: number;
  children: OrganizationNode[];
}

/**
 * Arranges a tenant's flat organization list into trees by `parentId`, siblings sorted by name.
 * An organization whose parent is not in the list is shown as a root rather than hidden.
 */
export function buildOrganizationTree(organizations: readonly Organization[]): OrganizationNode[] {
  const knownIds = new Set(organizations.map((organization) => organization.id));
  const childrenByParentId = new Map<string | null, Organization[]>();
  for (const organization of organizations) {
    const parentKey =
      organization.parentId !== null && knownIds.has(organization.parentId) ? organization.parentId : null;
    const siblings = childrenByParentId.get(parentKey) ?? [];
    siblings.push(organization);
    childrenByParentId.set(parentKey, siblings);
  }

  const placedIds = new Set<string>();
  const toNode = (organization: Organization, depth: number): OrganizationNode => {
    placedIds.add(organization.id);
    const children = sortByName(childrenByParentId.get(organization.id) ?? [])
      .filter((child) => !placedIds.has(child.id))
      .map((child) => toNode(child, depth + 1));
    return { organization, depth, children };
  };

  const roots = sortByName(childrenByParentId.get(null) ?? []).map((root) => toNode(root, 0));
  // The server rejects cycles; should one slip through, its members still appear instead of vanishing.
  for (const organization of sortByName(organizations)) {
    if (!placedIds.has(organization.id)) roots.push(toNode(organization, 0));
  }
  return roots;
}

/** The trees in display order, each organization once, with its depth (for indented pickers). */
export function flattenOrganizationTree(nodes: readonly OrganizationNode[]): OrganizationNode[] {
  return nodes.flatMap((node) => [node, ...flattenOrganizationTree(node.children)]);
}

/** The ids of a node and everything under it: the parents it cannot be moved beneath. */
export function subtreeIds(node: OrganizationNode): Set<string> {
  return new Set(flattenOrganizationTree([node]).map((member) => member.organization.id));
}

export function countDescendants(node: OrganizationNode): number {
  return flattenOrganizationTree(node.children).length;
}

function sortByName(organizations: readonly Organization[]): Organization[] {
  return [...organizations].sort((left, right) =>
    left.name.localeCompare(right.name, undefined, { sensitivity: 'base', numeric: true }),
  );
}
