import { error, redirect } from '@sveltejs/kit';
import { ApiError, clearSessionTokens } from './api';
import { loginPathReturningTo } from './navigation';

/**
 * Turns a failed API call inside a `load` into what SvelteKit should do: an expired session goes back to the
 * login page, any other problem becomes the error page with the server's explanation.
 */
export function raiseLoadFailure(failure: unknown, url: URL): never {
  if (failure instanceof ApiError && failure.status === 401) {
    clearSessionTokens();
    redirect(307, loginPathReturningTo(url));
  }
  if (failure instanceof ApiError) error(failure.status || 503, failure.summary);
  throw failure;
}
