import { redirect } from '@sveltejs/kit';
import { fetchCurrentIdentity, hasSession } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import { loginPathReturningTo } from '$lib/navigation';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = async ({ url }) => {
  if (!hasSession()) redirect(307, loginPathReturningTo(url));
  try {
    return { identity: await fetchCurrentIdentity() };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
