import { channelCatalog, channelOf, type EventType, eventTypes } from '../../../realtime/events.ts';
import { AppError } from '../../errors.ts';

/**
 * The event types a webhook may carry: every type of the catalog but a person's own notifications (they
 * belong to that person, not to the tenant's systems) and the delivery log's own updates (a delivery of
 * a delivery update would make another, without end).
 */
export const deliverableTypes: readonly EventType[] = eventTypes.filter(
  (type) => channelOf(type) !== 'notifications' && type !== 'webhook.deliveries_updated',
);
const deliverable: ReadonlySet<string> = new Set(deliverableTypes);

/** The permission reading `type` needs (that of its channel), or null for any member. */
const permissionOf = (type: EventType): string | null => channelCatalog[channelOf(type)].permission;

/**
 * Checks the types an endpoint asks for: each must be deliverable, and the caller must hold what reading
 * it needs (an endpoint must not carry what its maker may not see: a `webhooks:manage` holder without
 * `audit:read` gets no audit entries). `null` (every type) needs every such permission.
 */
export function checkEventTypes(requested: readonly string[] | null, held: ReadonlySet<string>): void {
  const unknown = (requested ?? []).filter((type) => !deliverable.has(type));
  if (unknown.length > 0) {
    throw new AppError('validation-failed', 'Some event types cannot be delivered by webhook.', {
      errors: unknown.map((type) => ({
        path: '/eventTypes',
        message: `"${type}" is not a deliverable event type (see GET /v1/events/catalog)`,
      })),
    });
  }
  const types = (requested ?? deliverableTypes) as readonly EventType[];
  const missing = new Set<string>();
  for (const type of types) {
    const permission = permissionOf(type);
    if (permission && !held.has(permission)) missing.add(permission);
  }
  if (missing.size > 0) {
    throw new AppError(
      'validation-failed',
      requested
        ? 'An endpoint cannot carry events you may not read.'
        : 'Every event type includes some you may not read: choose the event types.',
      {
        errors: [...missing].map((permission) => ({
          path: '/eventTypes',
          message: `Reading some of these events needs "${permission}"`,
        })),
      },
    );
  }
}

/** Whether an endpoint subscribed to `eventTypes` (null: all) gets an event of `type`. */
export function endpointWants(eventTypes: readonly string[] | null, type: string): boolean {
  if (!deliverable.has(type)) return false;
  return eventTypes === null || eventTypes.includes(type);
}
