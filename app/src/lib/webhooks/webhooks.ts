import type {
  EventCatalog,
  EventTypeInfo,
  WebhookDelivery,
  WebhookDeliveryQuery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookOrdering,
} from '../api';
import { isEventOf, type RealtimeEvent } from '../realtime/apply';
import type { BadgeTone } from '../ui/badge';

/** Deliveries per page of an endpoint's timeline (the first, and each "Load more"). */
export const DELIVERY_PAGE_SIZE = 25;

export const deliveryStatusChoices = [
  { value: 'pending', label: 'Pending' },
  { value: 'succeeded', label: 'Succeeded' },
  { value: 'failed', label: 'Failed' },
  { value: 'cancelled', label: 'Cancelled' },
] as const satisfies ReadonlyArray<{ value: WebhookDeliveryStatus; label: string }>;

export const orderingChoices = [
  { value: 'none', label: 'As fast as possible (any order)' },
  { value: 'per-endpoint', label: 'In order, one at a time' },
] as const satisfies ReadonlyArray<{ value: WebhookOrdering; label: string }>;

export function isDeliveryStatus(value: string | null | undefined): value is WebhookDeliveryStatus {
  return deliveryStatusChoices.some((choice) => choice.value === value);
}

/** What the webhooks page shows, as its URL carries it: the endpoint whose deliveries are open, and their status. */
export interface WebhooksView {
  endpointId?: string;
  status?: WebhookDeliveryStatus;
}

export function viewFromSearch(search: URLSearchParams): WebhooksView {
  const view: WebhooksView = {};
  const endpointId = search.get('endpoint');
  const status = search.get('status');
  if (endpointId) view.endpointId = endpointId;
  // A status no one offers (a link edited by hand) shows every delivery rather than none.
  if (endpointId && isDeliveryStatus(status)) view.status = status;
  return view;
}

/** The page showing `view`: the link to share. */
export function webhooksPagePath(view: WebhooksView): string {
  const search = new URLSearchParams();
  if (view.endpointId) {
    search.set('endpoint', view.endpointId);
    if (view.status) search.set('status', view.status);
  }
  const query = search.toString();
  return query ? `/webhooks?${query}` : '/webhooks';
}

export function deliveryQueryOf(view: WebhooksView): WebhookDeliveryQuery {
  return { endpointId: view.endpointId, ...(view.status ? { status: view.status } : {}) };
}

/** One channel's deliverable event types, for the picker. */
export interface EventTypeGroup {
  channel: string;
  description: string;
  types: EventTypeInfo[];
}

/**
 * The event types a webhook can carry that this person may subscribe an endpoint to, by channel in the
 * catalog's order. Deliverable is every type but a person's own notifications and the delivery log's own
 * updates (the server's `deliverableTypes`); the server refuses types whose channel needs a permission the
 * maker lacks, so those are not offered.
 */
export function eventTypeGroups(catalog: EventCatalog, permissions: readonly string[]): EventTypeGroup[] {
  const held = new Set(permissions);
  const groups: EventTypeGroup[] = [];
  for (const channel of catalog.channels) {
    if (channel.name === 'notifications') continue;
    if (channel.permission !== null && !held.has(channel.permission)) continue;
    const types = catalog.events.filter(
      (event) => event.channel === channel.name && event.type !== 'webhook.deliveries_updated',
    );
    if (types.length > 0) groups.push({ channel: channel.name, description: channel.description, types });
  }
  return groups;
}

/** Whether the person may read every channel a webhook can carry: only then may an endpoint take all types. */
export function mayTakeAllTypes(catalog: EventCatalog, permissions: readonly string[]): boolean {
  const held = new Set(permissions);
  return catalog.channels.every(
    (channel) =>
      channel.name === 'notifications' || channel.permission === null || held.has(channel.permission),
  );
}

/** The endpoint's share of successful attempts in the last 24 hours, as text (`null` without attempts). */
export function successRate(health: WebhookEndpoint['health']): string | null {
  if (health.attempts24h === 0) return null;
  const percent = (health.succeeded24h / health.attempts24h) * 100;
  const shown = percent === 100 || percent === 0 ? percent.toFixed(0) : percent.toFixed(1);
  return `${shown}%`;
}

export function successRateTone(health: WebhookEndpoint['health']): BadgeTone {
  if (health.attempts24h === 0) return 'neutral';
  const rate = health.succeeded24h / health.attempts24h;
  if (rate >= 0.99) return 'success';
  if (rate >= 0.8) return 'warning';
  return 'danger';
}

/** Why an endpoint gets nothing, in words; `null` while it is enabled. */
export function disabledText(endpoint: Pick<WebhookEndpoint, 'enabled' | 'disabledReason'>): string | null {
  if (endpoint.enabled) return null;
  switch (endpoint.disabledReason) {
    case 'gone':
      return 'Disabled: it answered 410 Gone';
    case 'failing':
      return 'Disabled: every attempt failed for days';
    default:
      return 'Disabled';
  }
}

export function deliveryStatusTone(status: string): BadgeTone {
  switch (status) {
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'danger';
    case 'pending':
      return 'warning';
    default:
      return 'neutral';
  }
}

export function deliveryStatusLabel(status: string): string {
  return deliveryStatusChoices.find((choice) => choice.value === status)?.label ?? status;
}

/** The endpoint's event types as a short text: "All event types", or the types. */
export function eventTypesText(eventTypes: readonly string[] | null): string {
  if (eventTypes === null) return 'All event types';
  if (eventTypes.length === 0) return 'No event types';
  return eventTypes.join(', ');
}

/**
 * `known` with the deliveries of `incoming` (by id: `incoming`, the fresher, wins), newest first (by id,
 * time-ordered, as the server lists them).
 */
export function mergeDeliveries(
  known: readonly WebhookDelivery[],
  incoming: readonly WebhookDelivery[],
): WebhookDelivery[] {
  const byId = new Map(known.map((delivery) => [delivery.id, delivery]));
  for (const delivery of incoming) byId.set(delivery.id, delivery);
  return [...byId.values()].sort((left, right) => (left.id < right.id ? 1 : left.id > right.id ? -1 : 0));
}

/**
 * `deliveries` with what `webhook.deliveries_updated` events said of them (status, attempts, last answer; the
 * attempt log comes with the next load). Deliveries not among them are left out: the events do not carry all
 * of a delivery, so new ones come with the next load. Answers `deliveries` itself when nothing changed.
 */
export function patchDeliveries(
  deliveries: readonly WebhookDelivery[],
  events: readonly RealtimeEvent[],
): readonly WebhookDelivery[] {
  const byId = new Map(deliveries.map((delivery) => [delivery.id, delivery]));
  let changed = false;
  for (const event of events) {
    if (!isEventOf(event, 'webhook.deliveries_updated')) continue;
    for (const delivery of event.data.deliveries) {
      const known = byId.get(delivery.id);
      if (!known) continue;
      const patched = {
        ...known,
        status: delivery.status,
        attempts: delivery.attempts,
        nextAttemptAt: delivery.nextAttemptAt,
        lastStatusCode: delivery.lastStatusCode,
        lastError: delivery.lastError,
      };
      if (
        patched.status !== known.status ||
        patched.attempts !== known.attempts ||
        patched.nextAttemptAt !== known.nextAttemptAt ||
        patched.lastStatusCode !== known.lastStatusCode ||
        patched.lastError !== known.lastError
      ) {
        byId.set(delivery.id, patched);
        changed = true;
      }
    }
  }
  return changed ? [...byId.values()] : deliveries;
}

/** The timeline shown: the loaded deliveries patched by the events since, narrowed to the status filter. */
export function deliveriesShown(
  loaded: readonly WebhookDelivery[],
  events: readonly RealtimeEvent[],
  view: WebhooksView,
): WebhookDelivery[] {
  return patchDeliveries(loaded, events).filter(
    (delivery) => !view.status || delivery.status === view.status,
  );
}

/** The endpoints with what the channel said of them since they were loaded (new ones come with the next load). */
export function endpointsShown(
  loaded: readonly WebhookEndpoint[],
  events: readonly RealtimeEvent[],
): WebhookEndpoint[] {
  const byId = new Map(loaded.map((endpoint) => [endpoint.id, endpoint]));
  for (const event of events) {
    if (isEventOf(event, 'webhook.endpoint_updated') || isEventOf(event, 'webhook.endpoint_disabled')) {
      const { endpoint } = event.data;
      const known = byId.get(endpoint.id);
      if (known) byId.set(endpoint.id, { ...known, ...endpoint });
    } else if (isEventOf(event, 'webhook.endpoint_deleted')) {
      byId.delete(event.data.endpoint.id);
    }
  }
  return [...byId.values()];
}

/** How long an attempt took, as text. */
export function durationText(milliseconds: number): string {
  return milliseconds < 1000 ? `${milliseconds} ms` : `${(milliseconds / 1000).toFixed(1)} s`;
}
