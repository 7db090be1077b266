import { redirect } from '@sveltejs/kit';
import { hasSession } from '$lib/api';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = () => {
  if (hasSession()) redirect(307, '/organizations');
};
