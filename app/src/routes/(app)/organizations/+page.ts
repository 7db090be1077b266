import { listAllOrganizations } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import { realtime } from '$lib/realtime/realtime.svelte';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, url }) => {
  depends('app:organizations');
  // Read before fetching: every change after this seq arrives as an event, and the page applies it.
  const seq = realtime.lastSeq('organizations');
  try {
    return { organizations: await listAllOrganizations(), seq };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
