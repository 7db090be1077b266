/** The login page, remembering where to come back to. */
export function loginPathReturningTo(url: URL): string {
  const returnTo = `${url.pathname}${url.search}`;
  return returnTo === '/' ? '/login' : `/login?returnTo=${encodeURIComponent(returnTo)}`;
}

/** A `returnTo` value that stays on this site: a path, never a protocol-relative or absolute URL. */
export function safeReturnPath(returnTo: string | null, fallback = '/organizations'): string {
  if (!returnTo?.startsWith('/') || returnTo.startsWith('//') || returnTo.startsWith('/\\')) {
    return fallback;
  }
  return returnTo;
}
