import { requirePermission } from '$lib/access/require-permission';
import {
  ApiError,
  type EventCatalog,
  getEventCatalog,
  listWebhookDeliveries,
  listWebhookEndpoints,
  type WebhookDeliveryPage,
} from '$lib/api';
import { raiseLoadFailure } from '$lib/load-failure';
import { realtime } from '$lib/realtime/realtime.svelte';
import { DELIVERY_PAGE_SIZE, deliveryQueryOf, viewFromSearch } from '$lib/webhooks/webhooks';
import type { PageLoad } from './$types';

/** The catalog describes the API, not the tenant: read once per tab. */
let catalog: Promise<EventCatalog> | null = null;

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:webhooks');
  const { identity } = await parent();
  requirePermission(identity, 'webhooks:manage');
  const view = viewFromSearch(url.searchParams);
  // Read before fetching: whatever changes after this seq arrives as an event, and the page loads again.
  const seq = realtime.lastSeq('webhooks');
  catalog ??= getEventCatalog().catch((failure) => {
    catalog = null;
    throw failure;
  });
  try {
    const [eventCatalog, endpoints] = await Promise.all([catalog, listWebhookEndpoints()]);
    let deliveries: WebhookDeliveryPage | null = null;
    let problem: ApiError | null = null;
    if (view.endpointId) {
      try {
        deliveries = await listWebhookDeliveries(deliveryQueryOf(view), { limit: DELIVERY_PAGE_SIZE });
      } catch (failure) {
        // An endpoint id that is not one (a link edited by hand): the page stays, with the server's reason.
        if (!(failure instanceof ApiError && failure.status === 422)) throw failure;
        problem = failure;
      }
    }
    return { view, catalog: eventCatalog, endpoints, deliveries, problem, seq };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
