import { getAdminTenant } from '$lib/admin/api';
import { requirePlatformAdmin } from '$lib/admin/require-platform-admin';
import { getBillingCatalog } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, params, parent, url }) => {
  depends('app:admin-tenant');
  const { identity } = await parent();
  requirePlatformAdmin(identity);
  try {
    const [tenant, catalog] = await Promise.all([
      getAdminTenant(params.id),
      // The plans come from the catalog as the admin's own workspace reads it; without it the plan can
      // still be cleared, and the current one is shown by its id.
      getBillingCatalog().catch(() => null),
    ]);
    return { tenant, plans: catalog?.items ?? [] };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
