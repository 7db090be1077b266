/**
 * The access check of a request whose route runs it in its own transaction (a permission route), kept
 * until that transaction opens. When the request fails before it does (an invalid body, a lookup that
 * found nothing), the error handler runs the check first: an ended credential or a missing permission is
 * the answer that explains, never a 422 or 404 that tells the caller something about the route.
 */
const deferred = new WeakMap<Request, () => Promise<void>>();

export function deferAccessCheck(request: Request, check: () => Promise<void>): void {
  deferred.set(request, check);
}

/** The refusal of the request's deferred access check, or null when it passes or there is none. */
export async function deferredRefusal(request: Request): Promise<unknown> {
  const check = deferred.get(request);
  if (!check) return null;
  deferred.delete(request);
  try {
    await check();
    return null;
  } catch (refusal) {
    return refusal;
  }
}
