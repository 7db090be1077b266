import { redirect } from '@sveltejs/kit';
import { hasSession } from '$lib/api';
import { landingPath } from '$lib/navigation';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = () => {
  if (hasSession()) redirect(307, landingPath);
};
