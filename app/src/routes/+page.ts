import { redirect } from '@sveltejs/kit';
import { hasSession } from '$lib/api';
import type { PageLoad } from './$types';

export const load: PageLoad = () => {
  redirect(307, hasSession() ? '/organizations' : '/login');
};
