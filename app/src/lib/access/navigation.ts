/** What a signed-in person may see, from the tenant-wide permission keys of `GET /v1/me`. */
export interface NavigationItem {
  href: string;
  label: string;
}

const sections: ReadonlyArray<NavigationItem & { requires: string | null }> = [
  { href: '/dashboard', label: 'Dashboard', requires: 'credits:read' },
  { href: '/organizations', label: 'Organizations', requires: 'org:read' },
  { href: '/members', label: 'Members', requires: 'members:read' },
  { href: '/roles', label: 'Roles', requires: 'members:read' },
  { href: '/api-keys', label: 'API keys', requires: 'api-keys:manage' },
  { href: '/webhooks', label: 'Webhooks', requires: 'webhooks:manage' },
  // Everyone who can see the credits sees the plan and the ledger; only `billing:manage` buys.
  { href: '/billing', label: 'Billing', requires: 'credits:read' },
  { href: '/audit', label: 'Audit', requires: 'audit:read' },
  // Everyone may see the tenant's settings; only `tenant:manage` may change them.
  { href: '/settings', label: 'Settings', requires: null },
];

/**
 * The sections of the app this person can open. Hiding a link is a courtesy: the server still refuses
 * what the permissions do not allow.
 */
export function navigationFor(permissions: readonly string[]): NavigationItem[] {
  const held = new Set(permissions);
  return sections
    .filter((section) => section.requires === null || held.has(section.requires))
    .map(({ href, label }) => ({ href, label }));
}

/**
 * Where to land after switching tenant, or when the dashboard is not for this person: the first section
 * they can open (the dashboard, for anyone who can see the credits).
 */
export function homePathFor(permissions: readonly string[]): string {
  return navigationFor(permissions)[0]?.href ?? '/settings';
}

/** Whether a path belongs to a navigation section (`/members` covers `/members/…` but not `/membership`). */
export function isInSection(pathname: string, sectionHref: string): boolean {
  return pathname === sectionHref || pathname.startsWith(`${sectionHref}/`);
}
