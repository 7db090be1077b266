import { error } from '@sveltejs/kit';
import type { CurrentIdentity } from '../api';

/**
 * Stops a page's `load` with a 403 when the person lacks the permission the page reads with, instead of
 * letting the API refuse each call. The server remains the judge; this only spares a round of failing calls.
 */
export function requirePermission(identity: CurrentIdentity, permission: string): void {
  if (!identity.permissions.includes(permission)) {
    error(403, `This page needs the ${permission} permission.`);
  }
}
