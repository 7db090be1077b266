import { requirePermission } from '$lib/access/require-permission';
import { listApiKeys, listPermissions } from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:api-keys');
  const { identity } = await parent();
  requirePermission(identity, 'api-keys:manage');
  try {
    const [apiKeys, permissions] = await Promise.all([listApiKeys(), listPermissions()]);
    return { apiKeys, permissions };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
