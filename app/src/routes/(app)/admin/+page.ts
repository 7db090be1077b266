import { listAdminTenants } from '$lib/admin/api';
import { requirePlatformAdmin } from '$lib/admin/require-platform-admin';
import { TENANT_PAGE_SIZE, tenantFiltersFromSearch } from '$lib/admin/tenants';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:admin-tenants');
  const { identity } = await parent();
  requirePlatformAdmin(identity);
  const filters = tenantFiltersFromSearch(url.searchParams);
  try {
    const page = await listAdminTenants({ ...filters, limit: TENANT_PAGE_SIZE });
    return { page, filters };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
