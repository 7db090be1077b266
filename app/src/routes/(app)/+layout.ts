import { redirect } from '@sveltejs/kit';
import { fetchCurrentIdentity, getTenantSettings, hasSession } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import { loginPathReturningTo } from '$lib/navigation';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = async ({ depends, url }) => {
  depends('app:identity', 'app:tenant');
  if (!hasSession()) redirect(307, loginPathReturningTo(url));
  try {
    const [identity, tenantSettings] = await Promise.all([
      fetchCurrentIdentity(),
      // Branding is decoration: if it cannot be read, the app still works in its default colours.
      getTenantSettings().catch(() => null),
    ]);
    return { identity, tenantSettings };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
