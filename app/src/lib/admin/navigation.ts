import type { NavigationItem } from '../access/navigation';
import type { CurrentIdentity } from '../api';

/** The console's entry in the main navigation. */
export const adminNavigationItem: NavigationItem = { href: '/admin', label: 'Admin' };

/** The main navigation with the console's entry at its end, for platform administrators only. */
export function withAdminEntry(
  items: readonly NavigationItem[],
  identity: Pick<CurrentIdentity, 'platformAdmin'>,
): NavigationItem[] {
  return identity.platformAdmin ? [...items, adminNavigationItem] : [...items];
}

/** The console's own sections, shown above each of its pages. */
export const adminSections: readonly NavigationItem[] = [
  { href: '/admin', label: 'Tenants' },
  { href: '/admin/audit', label: 'Live audit' },
];

/** Which console section a path is in: `/admin/tenants/…` belongs to Tenants, `/admin/audit` to itself. */
export function adminSectionOf(pathname: string): string {
  return pathname === '/admin/audit' || pathname.startsWith('/admin/audit/') ? '/admin/audit' : '/admin';
}
