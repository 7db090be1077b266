import { describe, expect, test } from 'bun:test';
import type { AdminAuditEvent } from './api';
import {
  actorLabel,
  emptyStream,
  filtersFromSearch,
  heldCount,
  MAX_LIVE,
  matchesFilters,
  noFilters,
  pause,
  receive,
  resume,
  searchOfFilters,
  targetsLabel,
  tenantNames,
  visibleEntries,
} from './stream';

function entry(
  position: number,
  options: {
    tenant?: string;
    action?: string;
    actor?: AdminAuditEvent['data']['actor'];
    targets?: AdminAuditEvent['data']['targets'];
  } = {},
): AdminAuditEvent {
  const tenantId = options.tenant ?? 'tenant-a';
  return {
    id: `event-${position}`,
    seq: position,
    type: 'audit.recorded',
    version: 1,
    tenantId,
    occurredAt: '2026-06-15T12:00:00.000Z',
    actor: { type: 'system' },
    auditPosition: position,
    data: {
      id: `entry-${position}`,
      tenantId,
      seq: position,
      occurredAt: '2026-06-15T12:00:00.000Z',
      action: options.action ?? 'organization.created',
      actor: options.actor ?? { type: 'user', id: 'ada', name: 'Ada' },
      targets: options.targets ?? [],
      context: { requestId: null, ip: null, userAgent: null },
      changes: {},
      metadata: {},
      outcome: 'success',
      hash: '0'.repeat(64),
    },
  };
}

const positions = (events: AdminAuditEvent[]) => events.map((event) => event.auditPosition);

describe('filters', () => {
  test('read from and written to the query string, only those set', () => {
    const filters = filtersFromSearch(new URLSearchParams('tenantId=t1&action=&actorId=%20ada%20'));
    expect(filters).toEqual({ tenantId: 't1', action: '', actorId: 'ada' });
    expect(searchOfFilters(filters)).toBe('?tenantId=t1&actorId=ada');
    expect(searchOfFilters(noFilters)).toBe('');
  });

  test('match by tenant, action and actor id, all of them', () => {
    const event = entry(1, {
      tenant: 'b',
      action: 'member.removed',
      actor: { type: 'user', id: 'gil', name: 'Gil' },
    });
    expect(matchesFilters(event, noFilters)).toBe(true);
    expect(matchesFilters(event, { ...noFilters, tenantId: 'b', actorId: 'gil' })).toBe(true);
    expect(matchesFilters(event, { ...noFilters, tenantId: 'a' })).toBe(false);
    expect(matchesFilters(event, { ...noFilters, action: 'member.updated' })).toBe(false);
    expect(matchesFilters(event, { ...noFilters, actorId: 'Gil' })).toBe(false);
  });
});

describe('the stream', () => {
  test('shows loaded and live entries newest first, each once', () => {
    const loaded = [entry(3), entry(2), entry(1)];
    let state = receive(emptyStream, entry(4));
    state = receive(state, entry(3)); // a replay overlapping what was loaded
    state = receive(state, entry(5));
    state = receive(state, entry(5));
    expect(positions(visibleEntries(loaded, state, noFilters))).toEqual([5, 4, 3, 2, 1]);
    expect(state.live).toHaveLength(3);
  });

  test('filters live arrivals like the loaded entries', () => {
    const loaded = [entry(1, { tenant: 'a' })];
    let state = receive(emptyStream, entry(2, { tenant: 'b' }));
    state = receive(state, entry(3, { tenant: 'a' }));
    expect(positions(visibleEntries(loaded, state, { ...noFilters, tenantId: 'a' }))).toEqual([3, 1]);
  });

  test('paused: arrivals are held and counted, then shown on resume', () => {
    let state = receive(emptyStream, entry(1));
    state = pause(state);
    state = receive(state, entry(2, { tenant: 'b' }));
    state = receive(state, entry(3));
    state = receive(state, entry(3));
    expect(positions(visibleEntries([], state, noFilters))).toEqual([1]);
    expect(heldCount(state, noFilters)).toBe(2);
    expect(heldCount(state, { ...noFilters, tenantId: 'b' })).toBe(1);
    state = resume(state);
    expect(state).toMatchObject({ paused: false, held: [] });
    expect(positions(visibleEntries([], state, noFilters))).toEqual([3, 2, 1]);
    expect(resume(state)).toBe(state);
    expect(pause(pause(state))).toEqual(pause(state));
  });

  test('keeps at most MAX_LIVE arrivals, dropping the oldest', () => {
    let state = emptyStream;
    for (let position = 1; position <= MAX_LIVE + 5; position++) state = receive(state, entry(position));
    expect(state.live).toHaveLength(MAX_LIVE);
    expect(state.live[0]?.auditPosition).toBe(6);
  });
});

describe('labels', () => {
  test('tenant names come from the tenants loaded, else from entries naming their own tenant', () => {
    const signup = entry(1, {
      tenant: 'new',
      action: 'user.signed_up',
      targets: [
        { type: 'user', id: 'u', name: 'Ada' },
        { type: 'tenant', id: 'new', name: 'Brand New' },
        { type: 'tenant', id: 'other', name: 'Not this one' },
      ],
    });
    const names = tenantNames([{ id: 'a', name: 'Acme' }], [signup]);
    expect(names.get('a')).toBe('Acme');
    expect(names.get('new')).toBe('Brand New');
    expect(names.has('other')).toBe(false);
  });

  test('actors and targets read as words', () => {
    expect(actorLabel(entry(1))).toBe('Ada');
    expect(actorLabel(entry(1, { actor: { type: 'system', id: 'billing.renewals', name: null } }))).toBe(
      'billing.renewals',
    );
    expect(actorLabel(entry(1, { actor: { type: 'api_key', id: '0123456789', name: null } }))).toBe(
      'api key 01234567',
    );
    expect(actorLabel(entry(1, { actor: { type: 'user', id: null, name: null } }))).toBe('Someone');
    const targets = [
      { type: 'credit_transaction', id: 'x', name: null },
      { type: 'organization', id: 'o', name: 'Sales' },
    ];
    expect(targetsLabel(entry(1, { targets }))).toBe('credit transaction, organization “Sales”');
  });
});
