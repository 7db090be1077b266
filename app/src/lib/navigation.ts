/**
 * Where signed-in people land (after signing up, signing in or joining) when no other page was asked for.
 * The dashboard sends anyone who may not see it on to the first section they can open.
 */
export const landingPath = '/dashboard';

/** The login page, remembering where to come back to. */
export function loginPathReturningTo(url: URL): string {
  const returnTo = `${url.pathname}${url.search}`;
  return returnTo === '/' ? '/login' : `/login?returnTo=${encodeURIComponent(returnTo)}`;
}

/** A `returnTo` value that stays on this site: a path, never a protocol-relative or absolute URL. */
export function safeReturnPath(returnTo: string | null, fallback = landingPath): string {
  if (!returnTo?.startsWith('/') || returnTo.startsWith('//') || returnTo.startsWith('/\\')) {
    return fallback;
  }
  return returnTo;
}
