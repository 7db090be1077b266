import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import { type Actor, type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { problemsFor } from '../shared-model.ts';
import { listDeliveries, recoverEndpoint, replayDelivery } from './deliveries.ts';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointEditor,
  listEndpoints,
  readEndpoint,
  rotateSecret,
  sendTest,
  updateEndpoint,
} from './endpoints.ts';
import {
  CreateWebhookEndpointBody,
  DeliveryParams,
  DeliveryQuery,
  EndpointParams,
  RecoverBody,
  RecoverResult,
  RotateSecretQuery,
  TestResult,
  UpdateWebhookEndpointBody,
  WebhookDeliveryModel,
  WebhookDeliveryPage,
  WebhookEndpointList,
  WebhookEndpointModel,
  WithSecret,
} from './model.ts';
import type { TargetPolicy } from './targets.ts';

const tags = ['webhooks'];
const AUTH = 'webhooks:manage' as const;

const editorOf = (actor: Actor): EndpointEditor => ({
  tenantId: actor.tenantId,
  userId: actor.userId,
  apiKeyId: actor.apiKeyId,
  who: actor.who,
});

export function webhookRoutes(deps: AuthDeps & { database: Database; webhookTargets: TargetPolicy }) {
  const { database, webhookTargets: policy } = deps;
  return new Elysia({ name: 'webhook-routes', prefix: '/v1/webhooks' })
    .use(authentication(deps))
    .get(
      '/endpoints',
      async ({ actor }) => ({ items: await withTenant(database, actor, listEndpoints), nextCursor: null }),
      {
        auth: AUTH,
        response: { 200: WebhookEndpointList, ...problemsFor(401, 403) },
        detail: { tags, summary: "The tenant's webhook endpoints, with their health (no secrets)" },
      },
    )
    .post(
      '/endpoints',
      async ({ actor, body, set }) => {
        const created = await withTenant(database, actor, (db) =>
          createEndpoint(db, editorOf(actor), body, policy),
        );
        set.status = 201;
        return created;
      },
      {
        auth: AUTH,
        body: CreateWebhookEndpointBody,
        response: { 201: WithSecret, ...problemsFor(401, 403, 422) },
        detail: {
          tags,
          summary: 'Add a webhook endpoint (its signing secret is in this answer only)',
          description:
            'It receives the events published from now on whose types it names (all deliverable ones when `eventTypes` is absent or null), signed as the Standard Webhooks spec says. Event types you may not read are refused.',
        },
      },
    )
    .get(
      '/endpoints/:id',
      ({ actor, params }) => withTenant(database, actor, (db) => readEndpoint(db, params.id)),
      {
        auth: AUTH,
        params: EndpointParams,
        response: { 200: WebhookEndpointModel, ...problemsFor(401, 403, 404) },
        detail: { tags, summary: 'One webhook endpoint, with its health' },
      },
    )
    .patch(
      '/endpoints/:id',
      ({ actor, params, body }) =>
        withTenant(database, actor, (db) => updateEndpoint(db, editorOf(actor), params.id, body, policy)),
      {
        auth: AUTH,
        params: EndpointParams,
        body: UpdateWebhookEndpointBody,
        response: { 200: WebhookEndpointModel, ...problemsFor(401, 403, 404, 422) },
        detail: {
          tags,
          summary: 'Change an endpoint; `enabled: true` starts a disabled one afresh',
        },
      },
    )
    .delete(
      '/endpoints/:id',
      async ({ actor, params, set }) => {
        await withTenant(database, actor, (db) => deleteEndpoint(db, editorOf(actor), params.id));
        set.status = 204;
      },
      {
        auth: AUTH,
        params: EndpointParams,
        response: { 204: t.Void(), ...problemsFor(401, 403, 404) },
        detail: { tags, summary: 'Remove an endpoint and its delivery log' },
      },
    )
    .post(
      '/endpoints/:id/rotate-secret',
      ({ actor, params, query }) =>
        withTenant(database, actor, (db) =>
          rotateSecret(db, editorOf(actor), params.id, query.graceSeconds ?? 86_400),
        ),
      {
        auth: AUTH,
        params: EndpointParams,
        query: RotateSecretQuery,
        response: { 200: WithSecret, ...problemsFor(401, 403, 404, 422) },
        detail: {
          tags,
          summary: 'Replace the signing secret (shown in this answer only)',
          description:
            'During the grace period every delivery carries two signatures, one per secret, so a receiver can switch over without losing a message.',
        },
      },
    )
    .post(
      '/endpoints/:id/test',
      async ({ actor, params, set }) => {
        const sent = await withTenant(database, actor, (db) => sendTest(db, editorOf(actor), params.id));
        set.status = 202;
        return sent;
      },
      {
        auth: AUTH,
        params: EndpointParams,
        response: { 202: TestResult, ...problemsFor(401, 403, 404, 409) },
        detail: { tags, summary: 'Send a `webhook.test` event to this endpoint now' },
      },
    )
    .post(
      '/endpoints/:id/recover',
      async ({ actor, params, body, set }) => {
        const recovered = await withTenant(database, actor, (db) =>
          recoverEndpoint(db, actor.tenantId, actor.who, params.id, new Date(body.since)),
        );
        set.status = 202;
        return recovered;
      },
      {
        auth: AUTH,
        params: EndpointParams,
        body: RecoverBody,
        response: { 202: RecoverResult, ...problemsFor(401, 403, 404, 409, 422) },
        detail: { tags, summary: 'Send again every message given up since a time' },
      },
    )
    .get(
      '/deliveries',
      ({ actor, query }) =>
        withTenant(database, actor, (db) => listDeliveries(db, { ...query, limit: query.limit ?? 50 })),
      {
        auth: AUTH,
        query: DeliveryQuery,
        response: { 200: WebhookDeliveryPage, ...problemsFor(401, 403, 422) },
        detail: { tags, summary: 'The delivery log, newest first, each delivery with its attempts' },
      },
    )
    .post(
      '/deliveries/:id/replay',
      async ({ actor, params, set }) => {
        const replay = await withTenant(database, actor, (db) =>
          replayDelivery(db, actor.tenantId, actor.who, params.id),
        );
        set.status = 202;
        return replay;
      },
      {
        auth: AUTH,
        params: DeliveryParams,
        response: { 202: WebhookDeliveryModel, ...problemsFor(401, 403, 404, 409) },
        detail: { tags, summary: 'Send one message again (same webhook-id: receivers drop a duplicate)' },
      },
    );
}
