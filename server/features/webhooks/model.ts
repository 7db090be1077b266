import { t } from 'elysia';
import { oneOf, Timestamp, Uuid } from '../shared-model.ts';

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(schema: T) => t.Union([schema, t.Null()]);

export const endpointOrderings = ['none', 'per-endpoint'] as const;
export const Ordering = oneOf(endpointOrderings, {
  title: 'ordering',
  description:
    '`per-endpoint`: messages go in the order of the log (`seq`), one at a time, and a failing one holds the later ones back until it succeeds or is given up',
});

export const deliveryStatuses = ['pending', 'succeeded', 'failed', 'cancelled'] as const;
export const DeliveryStatus = oneOf(deliveryStatuses, {
  title: 'status',
  description:
    '`pending` (on its way, or waiting for a retry), `succeeded`, `failed` (given up), `cancelled`',
});

const EndpointUrl = t.String({
  format: 'uri',
  minLength: 1,
  maxLength: 2048,
  examples: ['https://crm.example.com/webhooks/wrapper'],
  description: 'https:// (http:// only where the server allows it); no credentials, no private addresses',
});
const EventTypes = t.Array(t.String({ minLength: 1, maxLength: 100 }), {
  maxItems: 100,
  uniqueItems: true,
  description:
    'Event types from the catalog (`GET /v1/events/catalog`); absent or null: every deliverable type',
});
const RateLimit = t.Integer({ minimum: 1, maximum: 10_000, description: 'Messages per second at most' });

export const WebhookEndpointModel = t.Object({
  id: Uuid,
  url: t.String(),
  description: t.String(),
  eventTypes: Nullable(t.Array(t.String())),
  enabled: t.Boolean(),
  disabledReason: Nullable(t.String({ description: '`manual`, `gone` (answered 410) or `failing`' })),
  disabledAt: Nullable(Timestamp),
  rateLimit: Nullable(t.Integer()),
  ordering: t.String(),
  /** While a rotation's grace period runs, the old secret signs too, until then. */
  previousSecretExpiresAt: Nullable(Timestamp),
  failingSince: Nullable(Timestamp),
  health: t.Object({
    attempts24h: t.Integer({ description: 'Attempts in the last 24 hours' }),
    succeeded24h: t.Integer(),
    lastFailureAt: Nullable(Timestamp),
    lastFailure: Nullable(t.String()),
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type WebhookEndpointModel = typeof WebhookEndpointModel.static;

export const WithSecret = t.Object({
  ...WebhookEndpointModel.properties,
  secret: t.String({ description: 'Shown once: `whsec_` + base64 of the signing key (Standard Webhooks)' }),
});
export type WithSecret = typeof WithSecret.static;

export const WebhookEndpointList = t.Object({ items: t.Array(WebhookEndpointModel), nextCursor: t.Null() });

export const CreateWebhookEndpointBody = t.Object(
  {
    url: EndpointUrl,
    description: t.Optional(t.String({ maxLength: 500 })),
    eventTypes: t.Optional(t.Union([EventTypes, t.Null()])),
    enabled: t.Optional(t.Boolean()),
    rateLimit: t.Optional(t.Union([RateLimit, t.Null()])),
    ordering: t.Optional(Ordering),
  },
  { additionalProperties: false },
);
export type CreateWebhookEndpointBody = typeof CreateWebhookEndpointBody.static;

export const UpdateWebhookEndpointBody = t.Object(
  {
    url: t.Optional(EndpointUrl),
    description: t.Optional(t.String({ maxLength: 500 })),
    eventTypes: t.Optional(t.Union([EventTypes, t.Null()])),
    enabled: t.Optional(t.Boolean()),
    rateLimit: t.Optional(t.Union([RateLimit, t.Null()])),
    ordering: t.Optional(Ordering),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateWebhookEndpointBody = typeof UpdateWebhookEndpointBody.static;

export const EndpointParams = t.Object({ id: Uuid });

export const RotateSecretQuery = t.Object({
  graceSeconds: t.Optional(
    t.Integer({
      title: 'graceSeconds',
      minimum: 0,
      maximum: 7 * 86_400,
      default: 86_400,
      description: 'How long the old secret keeps signing beside the new one (default 24 h)',
    }),
  ),
});

export const RecoverBody = t.Object(
  {
    since: t.String({ format: 'date-time', description: 'Every message given up since then is sent again' }),
  },
  { additionalProperties: false },
);

export const WebhookAttemptModel = t.Object({
  attempt: t.Integer(),
  startedAt: Timestamp,
  durationMs: t.Integer(),
  statusCode: Nullable(t.Integer()),
  errorClass: Nullable(
    t.String({
      description: '`http-status`, `redirect`, `timeout`, `connection`, `tls`, `dns` or `blocked-address`',
    }),
  ),
  error: Nullable(t.String()),
  responseExcerpt: Nullable(t.String({ description: 'The first 4 KB of the answer' })),
});

export const WebhookDeliveryModel = t.Object({
  id: Uuid,
  endpointId: Uuid,
  eventId: Uuid,
  eventSeq: t.Integer(),
  eventType: t.String(),
  replayOf: Nullable(Uuid),
  status: t.String(),
  attempts: t.Integer(),
  nextAttemptAt: Nullable(Timestamp),
  lastStatusCode: Nullable(t.Integer()),
  lastError: Nullable(t.String()),
  succeededAt: Nullable(Timestamp),
  createdAt: Timestamp,
  attemptLog: t.Array(WebhookAttemptModel),
});
export type WebhookDeliveryModel = typeof WebhookDeliveryModel.static;

export const WebhookDeliveryPage = t.Object({
  items: t.Array(WebhookDeliveryModel),
  nextCursor: Nullable(Uuid),
});

export const DeliveryQuery = t.Object({
  endpointId: t.Optional(t.String({ title: 'endpointId', format: 'uuid' })),
  status: t.Optional(DeliveryStatus),
  eventType: t.Optional(t.String({ title: 'eventType', minLength: 1, maxLength: 100 })),
  limit: t.Optional(t.Integer({ title: 'limit', minimum: 1, maximum: 100, default: 50 })),
  cursor: t.Optional(t.String({ title: 'cursor', format: 'uuid' })),
});

export const DeliveryParams = t.Object({ id: Uuid });

export const RecoverResult = t.Object({ queued: t.Integer({ description: 'Messages queued again' }) });

export const TestResult = t.Object({
  eventId: Uuid,
  seq: t.Integer({ description: "The test event's place in the tenant's log" }),
});
