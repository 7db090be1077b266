import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import {
  channelCatalog,
  channels,
  EventEnvelopeSchema,
  eventCatalog,
  eventTypes,
  readableTypes,
} from '../../../realtime/events.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { ProblemModel } from '../shared-model.ts';
import { effectivePermissions, replayEvents, requestedTypes } from './service.ts';

const tags = ['events'];

const catalog = {
  events: eventTypes.map((type) => ({
    type,
    version: eventCatalog[type].version,
    channel: eventCatalog[type].channel,
    description: eventCatalog[type].description,
    data: eventCatalog[type].data,
  })),
  channels: channels.map((name) => ({
    name,
    permission: channelCatalog[name].permission,
    description: channelCatalog[name].description,
  })),
};

/** `GET /v1/events/catalog`: what every event type carries, and which channel (and permission) it is on. */
export const EventCatalog = t.Object({
  events: t.Array(
    t.Object({
      type: t.String(),
      version: t.Integer(),
      channel: t.String(),
      description: t.String(),
      data: t.Record(t.String(), t.Unknown(), { description: 'JSON Schema of the event data' }),
    }),
  ),
  channels: t.Array(
    t.Object({
      name: t.String(),
      permission: t.Union([t.String(), t.Null()]),
      description: t.String(),
    }),
  ),
});
export type EventCatalog = typeof EventCatalog.static;

export function eventRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'event-routes', prefix: '/v1/events' })
    .use(authentication(deps))
    .get('/catalog', () => catalog, {
      response: {
        200: EventCatalog,
      },
      detail: {
        tags,
        summary: 'Every event type: version, channel, description and the JSON Schema of its data',
      },
    })
    .get(
      '',
      ({ actor, query }) =>
        withTenant(database, actor, async (db) => {
          const readable = readableTypes(await effectivePermissions(db, actor));
          return replayEvents(db, {
            after: query.after ?? 0,
            types: requestedTypes(readable, query.types),
            limit: query.limit ?? 100,
          });
        }),
      {
        auth: true,
        query: t.Object({
          after: t.Optional(
            // seq is a bigint; past 2^53 a JSON number would no longer say which event it means.
            t.Integer({
              title: 'after',
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: 'Events with a greater seq',
            }),
          ),
          types: t.Optional(
            t.String({
              title: 'types',
              maxLength: 2000,
              description: 'Comma-separated event types (default: all readable)',
            }),
          ),
          limit: t.Optional(t.Integer({ title: 'limit', minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: {
          200: t.Object({
            items: t.Array(EventEnvelopeSchema),
            nextCursor: t.Union([t.String(), t.Null()], {
              description: 'Pass as `after` for the next page; null when this page reached the end',
            }),
            headSeq: t.Integer({ description: "The tenant's latest seq" }),
          }),
          401: ProblemModel,
          403: ProblemModel,
          410: ProblemModel,
          422: ProblemModel,
        },
        detail: {
          tags,
          summary: "Replay the tenant's events in seq order (resume, and polling by CRMs)",
          description:
            'Only the event types the caller may read are returned (each channel needs a permission, see `/v1/events/catalog`); asking for others is 403. Events are kept `EVENTS_RETENTION_DAYS` (30 by default): an `after` older than that is 410 `events-pruned` with `earliestSeq` and `headSeq` (load the current state, then follow from `headSeq`).',
        },
      },
    );
}
