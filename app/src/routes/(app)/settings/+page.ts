import { getTenantSettings } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ parent, url }) => {
  const { tenantSettings } = await parent();
  if (tenantSettings) return { settings: tenantSettings };
  try {
    return { settings: await getTenantSettings() };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
