import type { Member, MemberRole } from '../api';

/** The roles a member holds across the whole tenant: the ones `PATCH /v1/members/:userId` replaces. */
export function tenantWideRoles(member: Member): MemberRole[] {
  return member.roles.filter((role) => role.organizationId === null);
}

/** Roles limited to one organization; shown, but not changed from the members page. */
export function organizationRoles(member: Member): MemberRole[] {
  return member.roles.filter((role) => role.organizationId !== null);
}

/** Members by name, then email: the order people scan a list of colleagues in. */
export function sortMembers(members: readonly Member[]): Member[] {
  return [...members].sort(
    (left, right) =>
      left.name.localeCompare(right.name, undefined, { sensitivity: 'base' }) ||
      left.email.localeCompare(right.email),
  );
}

/** Whether two lists of role ids name the same roles, in any order. */
export function sameRoleIds(left: readonly string[], right: readonly string[]): boolean {
  const rightIds = new Set(right);
  return left.length === rightIds.size && left.every((id) => rightIds.has(id));
}

export function initialsOf(name: string, email: string): string {
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((word) => word[0]?.toUpperCase())
      .join('') || email.slice(0, 1).toUpperCase()
  );
}
