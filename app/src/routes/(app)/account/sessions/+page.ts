import { listSessions } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, url }) => {
  depends('app:sessions');
  try {
    const page = await listSessions();
    return { sessions: page.items };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
