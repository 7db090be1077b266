import { describe, expect, test } from 'bun:test';
import type { EventCatalog, WebhookDelivery, WebhookEndpoint } from '../api';
import { testEvents } from '../realtime/test-events';
import {
  deliveriesShown,
  disabledText,
  endpointsShown,
  eventTypeGroups,
  mayTakeAllTypes,
  mergeDeliveries,
  patchDeliveries,
  successRate,
  viewFromSearch,
  webhooksPagePath,
} from './webhooks';

const event = testEvents({ channelOf: () => 'webhooks', startAfter: 10 });

function delivery(id: string, fields: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    id,
    endpointId: 'endpoint-1',
    eventId: `event-${id}`,
    eventSeq: 1,
    eventType: 'organization.created',
    replayOf: null,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: null,
    lastStatusCode: null,
    lastError: null,
    succeededAt: null,
    createdAt: '2025-06-15T12:00:00.000Z',
    attemptLog: [],
    ...fields,
  };
}

function endpoint(id: string, fields: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id,
    url: `https://crm.example.com/${id}`,
    description: '',
    eventTypes: null,
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    rateLimit: null,
    ordering: 'none',
    previousSecretExpiresAt: null,
    failingSince: null,
    health: { attempts24h: 0, succeeded24h: 0, lastFailureAt: null, lastFailure: null },
    createdAt: '2025-06-15T12:00:00.000Z',
    updatedAt: '2025-06-15T12:00:00.000Z',
    ...fields,
  };
}

const catalog: EventCatalog = {
  events: [
    { type: 'organization.created', version: 1, channel: 'organizations', description: 'Made', data: {} },
    { type: 'audit.recorded', version: 1, channel: 'audit', description: 'Recorded', data: {} },
    { type: 'notification.created', version: 1, channel: 'notifications', description: 'Yours', data: {} },
    { type: 'webhook.deliveries_updated', version: 1, channel: 'webhooks', description: 'Log', data: {} },
    { type: 'webhook.test', version: 1, channel: 'webhooks', description: 'Test', data: {} },
  ],
  channels: [
    { name: 'organizations', permission: 'org:read', description: 'Organizations' },
    { name: 'audit', permission: 'audit:read', description: 'Audit' },
    { name: 'notifications', permission: null, description: 'Notifications' },
    { name: 'webhooks', permission: 'webhooks:manage', description: 'Webhooks' },
  ],
};

describe('the event-type picker', () => {
  test('offers the deliverable types by channel, only of channels the person reads', () => {
    const groups = eventTypeGroups(catalog, ['org:read', 'webhooks:manage']);
    expect(groups.map((group) => [group.channel, group.types.map((info) => info.type)])).toEqual([
      ['organizations', ['organization.created']],
      ['webhooks', ['webhook.test']],
    ]);
  });

  test('"All event types" needs every channel a webhook carries', () => {
    expect(mayTakeAllTypes(catalog, ['org:read', 'webhooks:manage'])).toBe(false);
    expect(mayTakeAllTypes(catalog, ['org:read', 'audit:read', 'webhooks:manage'])).toBe(true);
  });
});

describe('the view in the URL', () => {
  test('round-trips the endpoint and the status; a status without an endpoint or unknown is dropped', () => {
    const view = viewFromSearch(new URLSearchParams('endpoint=e1&status=failed'));
    expect(view).toEqual({ endpointId: 'e1', status: 'failed' });
    expect(webhooksPagePath(view)).toBe('/webhooks?endpoint=e1&status=failed');
    expect(viewFromSearch(new URLSearchParams('endpoint=e1&status=nope'))).toEqual({ endpointId: 'e1' });
    expect(viewFromSearch(new URLSearchParams('status=failed'))).toEqual({});
    expect(webhooksPagePath({})).toBe('/webhooks');
  });
});

describe('the delivery timeline', () => {
  test('merges pages newest first, the fresher copy winning', () => {
    const older = [delivery('01b'), delivery('01a', { status: 'pending' })];
    const merged = mergeDeliveries(older, [delivery('01c'), delivery('01a', { status: 'succeeded' })]);
    expect(merged.map((item) => [item.id, item.status])).toEqual([
      ['01c', 'pending'],
      ['01b', 'pending'],
      ['01a', 'succeeded'],
    ]);
  });

  test('live updates patch known deliveries and the status filter applies to the result', () => {
    const loaded = [delivery('01b', { status: 'pending' }), delivery('01a', { status: 'failed' })];
    const events = [
      event('webhook.deliveries_updated', {
        deliveries: [
          { ...delivery('01z'), status: 'succeeded' },
          {
            id: '01b',
            endpointId: 'endpoint-1',
            eventId: 'event-01b',
            eventType: 'organization.created',
            status: 'failed',
            attempts: 3,
            nextAttemptAt: null,
            lastStatusCode: 500,
            lastError: 'answered 500',
          },
        ],
      }),
      event('webhook.deliveries_updated', {
        deliveries: [{ ...delivery('01a'), status: 'failed', attempts: 2 }],
      }),
    ];
    const all = deliveriesShown(loaded, events, { endpointId: 'endpoint-1' });
    expect(all.map((item) => [item.id, item.status, item.attempts])).toEqual([
      ['01b', 'failed', 3],
      ['01a', 'failed', 2],
    ]);
    expect(deliveriesShown(loaded, events, { endpointId: 'endpoint-1', status: 'pending' })).toEqual([]);
    // Folding the same events again changes nothing, and says so by answering the same list.
    const patched = patchDeliveries(loaded, events);
    expect(patchDeliveries(patched, events)).toBe(patched);
  });
});

describe('endpoints', () => {
  test('live changes and removals apply; the health reads as a rate', () => {
    const loaded = [endpoint('e1'), endpoint('e2')];
    const shown = endpointsShown(loaded, [
      event('webhook.endpoint_disabled', {
        endpoint: { ...endpoint('e1'), enabled: false, disabledReason: 'gone' },
        reason: 'gone',
      }),
      event('webhook.endpoint_deleted', { endpoint: { id: 'e2', url: 'https://crm.example.com/e2' } }),
    ]);
    expect(shown.map((item) => [item.id, disabledText(item)])).toEqual([
      ['e1', 'Disabled: it answered 410 Gone'],
    ]);
    expect(
      successRate({ attempts24h: 0, succeeded24h: 0, lastFailureAt: null, lastFailure: null }),
    ).toBeNull();
    expect(successRate({ attempts24h: 4, succeeded24h: 1, lastFailureAt: null, lastFailure: null })).toBe(
      '25.0%',
    );
    expect(successRate({ attempts24h: 2, succeeded24h: 2, lastFailureAt: null, lastFailure: null })).toBe(
      '100%',
    );
  });
});
