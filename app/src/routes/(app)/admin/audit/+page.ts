import { listAdminAuditEvents, listAdminTenants } from '$lib/admin/api';
import { requirePlatformAdmin } from '$lib/admin/require-platform-admin';
import { filtersFromSearch } from '$lib/admin/stream';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:admin-audit');
  const { identity } = await parent();
  requirePlatformAdmin(identity);
  const filters = filtersFromSearch(url.searchParams);
  try {
    const [page, tenants] = await Promise.all([
      // Filtered by the server; what arrives live after `page.head` is filtered here.
      listAdminAuditEvents({ ...filters, limit: 100 }),
      // Names for the tenant filter and the entries; a tenant beyond these shows by its id.
      listAdminTenants({ limit: 100 }).then(
        (list) => list.items.map(({ id, name }) => ({ id, name })),
        () => [],
      ),
    ]);
    return { page, tenants, filters };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
