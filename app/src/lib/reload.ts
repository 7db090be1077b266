import { invalidate, invalidateAll } from '$app/navigation';
import { navigating } from '$app/state';

/** Resolves once no navigation is under way. */
async function navigationSettled(): Promise<void> {
  while (navigating.to) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Loads again what depends on `dependency` (everything without one), once no navigation is under way: an
 * `invalidate` that starts while the person is moving to another page would cancel that navigation. For
 * reloads the app decides on by itself (a live event, a change of roles), not for a person's own action.
 */
export async function reloadWhenIdle(dependency?: string): Promise<void> {
  await navigationSettled();
  await (dependency === undefined ? invalidateAll() : invalidate(dependency));
}
