import { error } from '@sveltejs/kit';
import type { CurrentIdentity } from '../api';

/**
 * Stops a console page's `load` with a 403 for anyone who is not a platform administrator, before any
 * call. The server refuses them anyway; this shows the refusal instead of a page of failed calls.
 */
export function requirePlatformAdmin(identity: Pick<CurrentIdentity, 'platformAdmin'>): void {
  if (!identity.platformAdmin) error(403, 'The platform console is for platform administrators only.');
}
