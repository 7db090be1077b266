import { listAllOrganizations } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, url }) => {
  depends('app:organizations');
  try {
    return { organizations: await listAllOrganizations() };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
