import { redirect } from '@sveltejs/kit';
import { hasSession } from '$lib/api';
import { landingPath } from '$lib/navigation';
import type { PageLoad } from './$types';

export const load: PageLoad = () => {
  redirect(307, hasSession() ? landingPath : '/login');
};
