import { type Static, type TSchema, Type as t } from '@sinclair/typebox';
import { AuditEntryModel } from '../server/features/audit/model.ts';
import { type Channel, channelCatalog } from './channels.ts';

export { type Channel, channelCatalog, channels } from './channels.ts';

// The event catalog: every event Wrapper emits, with its version, the channel it travels on and a schema
// for its `data`. The server validates what it publishes against it, `GET /v1/events/catalog` serves it
// (with JSON Schemas) and the app imports its types. A change to an event's `data` that is not purely
// additive gets a new version.

const Uuid = t.String({ format: 'uuid' });
const Timestamp = t.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(schema: T) => t.Union([schema, t.Null()]);

const Organization = t.Object({
  id: Uuid,
  name: t.String(),
  parentId: Nullable(Uuid),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const Tenant = t.Object({
  id: Uuid,
  name: t.String(),
  slug: t.String(),
  status: t.Union([t.Literal('active'), t.Literal('suspended')]),
  branding: t.Object({
    logoUrl: Nullable(t.String()),
    primaryColor: Nullable(t.String()),
    customDomain: Nullable(t.String()),
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const CreditTransaction = t.Object({
  id: Uuid,
  type: t.String(),
  amount: t.Integer(),
  balanceAfter: t.Integer(),
  reason: t.String(),
  metadata: t.Record(t.String(), t.Unknown()),
  createdAt: Timestamp,
});

const Plan = t.Object({
  id: t.String(),
  name: t.String(),
  description: t.String(),
  monthlyCredits: t.Integer(),
  price: Nullable(
    t.Object({
      amount: t.Integer({ description: 'In the currency’s minor unit' }),
      currency: t.String(),
      interval: t.Union([t.Literal('month'), t.Literal('year')]),
    }),
  ),
  limits: t.Record(t.String(), t.Number()),
});

const Subscription = t.Object({
  planId: Nullable(t.String()),
  plan: Nullable(Plan),
  status: t.String(),
  source: Nullable(t.Union([t.Literal('stripe'), t.Literal('manual')])),
  currentPeriodStart: Nullable(Timestamp),
  currentPeriodEnd: Nullable(Timestamp),
  cancelAtPeriodEnd: t.Boolean(),
  customer: t.Boolean(),
});

const WebhookEndpoint = t.Object({
  id: Uuid,
  url: t.String(),
  description: t.String(),
  eventTypes: Nullable(t.Array(t.String())),
  enabled: t.Boolean(),
  disabledReason: Nullable(t.String()),
  ordering: t.String(),
});

const WebhookDelivery = t.Object({
  id: Uuid,
  endpointId: Uuid,
  eventId: Uuid,
  eventType: t.String(),
  status: t.String(),
  attempts: t.Integer(),
  nextAttemptAt: Nullable(Timestamp),
  lastStatusCode: Nullable(t.Integer()),
  lastError: Nullable(t.String()),
});

interface CatalogEntry {
  version: number;
  channel: Channel;
  description: string;
  data: TSchema;
}

export const eventCatalog = {
  'organization.created': {
    version: 1,
    channel: 'organizations',
    description: 'An organization was created.',
    data: t.Object({ organization: Organization }),
  },
  'organization.updated': {
    version: 1,
    channel: 'organizations',
    description: 'An organization was renamed or moved; `changes` names the fields.',
    data: t.Object({
      organization: Organization,
      changes: t.Array(t.Union([t.Literal('name'), t.Literal('parentId')])),
    }),
  },
  'organization.deleted': {
    version: 1,
    channel: 'organizations',
    description: 'An organization was deleted.',
    data: t.Object({ organization: t.Object({ id: Uuid, name: t.String(), parentId: Nullable(Uuid) }) }),
  },
  'membership.invited': {
    version: 1,
    channel: 'membership',
    description: 'Someone was invited (or an invitation re-sent).',
    data: t.Object({
      invitation: t.Object({
        id: Uuid,
        email: t.String(),
        roleIds: t.Array(Uuid),
        organizationId: Nullable(Uuid),
        expiresAt: Timestamp,
      }),
    }),
  },
  'membership.invitation_revoked': {
    version: 1,
    channel: 'membership',
    description: 'A pending invitation was withdrawn.',
    data: t.Object({ invitationId: Uuid }),
  },
  'membership.joined': {
    version: 1,
    channel: 'membership',
    description: 'A person became a member (accepting an invitation, or creating the tenant).',
    data: t.Object({
      member: t.Object({ userId: Uuid, name: t.String(), email: t.String() }),
      roleIds: t.Array(Uuid),
      organizationId: Nullable(Uuid),
      invitationId: Nullable(Uuid),
    }),
  },
  'membership.role_changed': {
    version: 1,
    channel: 'membership',
    description: "A member's tenant-wide roles were replaced.",
    data: t.Object({ userId: Uuid, roleIds: t.Array(Uuid) }),
  },
  'membership.status_changed': {
    version: 1,
    channel: 'membership',
    description: 'A member was suspended or reactivated.',
    data: t.Object({ userId: Uuid, status: t.Union([t.Literal('active'), t.Literal('suspended')]) }),
  },
  'membership.removed': {
    version: 1,
    channel: 'membership',
    description: 'A member was removed from the tenant.',
    data: t.Object({ userId: Uuid }),
  },
  'audit.recorded': {
    version: 1,
    channel: 'audit',
    description:
      "An audit entry was recorded (the entry, with its seq and hash in the audit chain). Platform admins receive every tenant's on `admin:audit`.",
    data: AuditEntryModel,
  },
  'tenant.updated': {
    version: 1,
    channel: 'tenant',
    description: "The tenant's name or branding changed; `changes` names the fields.",
    data: t.Object({ tenant: Tenant, changes: t.Array(t.String()) }),
  },
  'credits.granted': {
    version: 1,
    channel: 'credits',
    description: 'Credits were granted (by hand, or as a plan allowance).',
    data: t.Object({ transaction: CreditTransaction, balance: t.Integer(), expiresAt: Nullable(Timestamp) }),
  },
  'credits.consumed': {
    version: 1,
    channel: 'credits',
    description: 'Credits were spent.',
    data: t.Object({ transaction: CreditTransaction, balance: t.Integer() }),
  },
  'credits.expired': {
    version: 1,
    channel: 'credits',
    description: 'What was left of a grant expired and was written off.',
    data: t.Object({ transaction: CreditTransaction, balance: t.Integer() }),
  },
  'credits.reserved': {
    version: 1,
    channel: 'credits',
    description: 'Credits were set aside for metered work.',
    data: t.Object({ reservationId: Uuid, transaction: CreditTransaction, balance: t.Integer() }),
  },
  'credits.captured': {
    version: 1,
    channel: 'credits',
    description: 'A reservation was captured (spent), in part or whole; the rest is released.',
    data: t.Object({
      reservationId: Uuid,
      captured: t.Integer(),
      transaction: CreditTransaction,
      balance: t.Integer(),
    }),
  },
  'credits.released': {
    version: 1,
    channel: 'credits',
    description: 'Credits held by a reservation came back (released, expired, or not captured).',
    data: t.Object({ reservationId: Uuid, transaction: CreditTransaction, balance: t.Integer() }),
  },
  'credits.purchased': {
    version: 1,
    channel: 'credits',
    description: 'A credit pack was paid for through Checkout.',
    data: t.Object({ transaction: CreditTransaction, balance: t.Integer(), creditPackId: t.String() }),
  },
  'credits.adjusted': {
    version: 1,
    channel: 'credits',
    description: 'A platform admin added or removed credits by hand.',
    data: t.Object({ transaction: CreditTransaction, balance: t.Integer() }),
  },
  'credits.refunded': {
    version: 1,
    channel: 'credits',
    description: 'A purchase was refunded: what was left of its credits was taken back.',
    data: t.Object({ transaction: CreditTransaction, balance: t.Integer() }),
  },
  'credits.threshold_updated': {
    version: 1,
    channel: 'credits',
    description: 'The low-balance threshold was set or cleared (null).',
    data: t.Object({ lowBalanceThreshold: Nullable(t.Integer()), balance: t.Integer() }),
  },
  'credits.low_balance': {
    version: 1,
    channel: 'credits',
    description:
      'The balance fell below the tenant’s threshold (once per crossing; re-armed when it is back above).',
    data: t.Object({ balance: t.Integer(), threshold: t.Integer() }),
  },
  'billing.subscription.updated': {
    version: 1,
    channel: 'billing',
    description: 'The plan or the subscription changed (started, renewed, changed, past due, cancelled).',
    data: t.Object({ subscription: Subscription }),
  },
  'billing.invoice.paid': {
    version: 1,
    channel: 'billing',
    description: 'An invoice was paid; a period’s allowance, when it brings one, is in `creditsGranted`.',
    data: t.Object({
      invoiceId: t.String(),
      amountPaid: t.Integer(),
      currency: t.String(),
      periodStart: Nullable(Timestamp),
      periodEnd: Nullable(Timestamp),
      creditsGranted: t.Integer(),
    }),
  },
  'billing.payment_failed': {
    version: 1,
    channel: 'billing',
    description: 'Collecting an invoice failed; Stripe retries until `nextPaymentAttemptAt` runs out.',
    data: t.Object({
      invoiceId: t.String(),
      amountDue: t.Integer(),
      currency: t.String(),
      attemptCount: t.Integer(),
      nextPaymentAttemptAt: Nullable(Timestamp),
      hostedInvoiceUrl: Nullable(t.String()),
    }),
  },
  'webhook.endpoint_created': {
    version: 1,
    channel: 'webhooks',
    description: 'A webhook endpoint was added.',
    data: t.Object({ endpoint: WebhookEndpoint }),
  },
  'webhook.endpoint_updated': {
    version: 1,
    channel: 'webhooks',
    description: 'A webhook endpoint was changed (or its secret rotated); `changes` names the fields.',
    data: t.Object({ endpoint: WebhookEndpoint, changes: t.Array(t.String()) }),
  },
  'webhook.endpoint_deleted': {
    version: 1,
    channel: 'webhooks',
    description: 'A webhook endpoint was removed, with its delivery log.',
    data: t.Object({ endpoint: t.Object({ id: Uuid, url: t.String() }) }),
  },
  'webhook.endpoint_disabled': {
    version: 1,
    channel: 'webhooks',
    description:
      'Wrapper stopped delivering to an endpoint: it answered 410 Gone (`gone`), or failed for days (`failing`).',
    data: t.Object({ endpoint: WebhookEndpoint, reason: t.String() }),
  },
  'webhook.deliveries_updated': {
    version: 1,
    channel: 'webhooks',
    description:
      'Deliveries were attempted, succeeded, were given up, or were queued again: those recorded together, in one event (never itself delivered by webhook).',
    data: t.Object({ deliveries: t.Array(WebhookDelivery, { minItems: 1 }) }),
  },
  'webhook.test': {
    version: 1,
    channel: 'webhooks',
    description:
      'A test message asked for by POST /v1/webhooks/endpoints/:id/test; only that endpoint gets it.',
    data: t.Object({ endpointId: Uuid, message: t.String() }),
  },
} as const satisfies Record<string, CatalogEntry>;

export type EventType = keyof typeof eventCatalog;
export const eventTypes = Object.keys(eventCatalog) as EventType[];
export type EventData<Type extends EventType> = Static<(typeof eventCatalog)[Type]['data']>;

export type EventActor =
  | { type: 'user'; id: string }
  | { type: 'api_key'; id: string; userId: string }
  | { type: 'platform_admin'; id: string }
  | { type: 'system' };

/** What is stored, replayed, relayed and delivered: the same envelope everywhere. */
export interface EventEnvelope<Type extends EventType = EventType> {
  id: string;
  /** Grows by one per tenant, with no gaps. */
  seq: number;
  type: Type;
  version: number;
  tenantId: string;
  occurredAt: string;
  actor: EventActor;
  data: EventData<Type>;
  /**
   * `audit.recorded` only, once relayed: the entry's place in the cross-tenant audit feed
   * (`admin:audit` resumes after it). Absent from `GET /v1/events` and tenant channels' replays.
   */
  auditPosition?: number;
}

export const EventEnvelopeSchema = t.Object({
  id: Uuid,
  seq: t.Integer({ minimum: 1 }),
  type: t.String({ description: 'One of the types in the catalog' }),
  version: t.Integer({ minimum: 1 }),
  tenantId: Uuid,
  occurredAt: Timestamp,
  actor: t.Union([
    t.Object({ type: t.Literal('user'), id: Uuid }),
    t.Object({ type: t.Literal('api_key'), id: Uuid, userId: Uuid }),
    t.Object({ type: t.Literal('platform_admin'), id: Uuid }),
    t.Object({ type: t.Literal('system') }),
  ]),
  data: t.Record(t.String(), t.Unknown()),
});

/** The channel an event type travels on. */
export const channelOf = (type: EventType): Channel => eventCatalog[type].channel;

/** The event types a holder of `permissions` (tenant-wide) may read. */
export function readableTypes(permissions: ReadonlySet<string>): EventType[] {
  return eventTypes.filter((type) => {
    const channel = channelCatalog[channelOf(type)];
    return channel.permission === null || permissions.has(channel.permission);
  });
}
