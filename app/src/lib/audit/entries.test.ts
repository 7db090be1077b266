import { describe, expect, test } from 'bun:test';
import type { AuditEntry } from '../api';
import { testEvents } from '../realtime/test-events';
import {
  actorOf,
  auditEntriesShown,
  changeValueText,
  describeAction,
  liveAuditEntries,
  mergeAuditEntries,
  targetTypesOf,
} from './entries';
import { testAuditEntry } from './testing';

const event = testEvents({ channelOf: () => 'audit', startAfter: 100 });
const recorded = (entry: AuditEntry) => event('audit.recorded', entry as unknown as Record<string, unknown>);

const seqs = (entries: readonly AuditEntry[]) => entries.map((entry) => entry.seq);

describe('mergeAuditEntries', () => {
  test('adds only unknown entries, newest (highest seq) first', () => {
    const loaded = [testAuditEntry(3), testAuditEntry(2)];
    expect(
      seqs(mergeAuditEntries(loaded, [testAuditEntry(5), testAuditEntry(3), testAuditEntry(4)])),
    ).toEqual([5, 4, 3, 2]);
  });

  test('answers the same list when nothing is new', () => {
    const loaded = [testAuditEntry(3), testAuditEntry(2)];
    expect(mergeAuditEntries(loaded, [testAuditEntry(2)])).toBe(loaded);
  });

  test('an older page appends below', () => {
    expect(
      seqs(mergeAuditEntries([testAuditEntry(9), testAuditEntry(8)], [testAuditEntry(7), testAuditEntry(6)])),
    ).toEqual([9, 8, 7, 6]);
  });
});

describe('live entries', () => {
  test('entries recorded since appear at the top, once, even when a reload brought them too', () => {
    const loaded = [testAuditEntry(11), testAuditEntry(10)];
    const events = [recorded(testAuditEntry(11)), recorded(testAuditEntry(12)), recorded(testAuditEntry(12))];
    expect(seqs(auditEntriesShown(loaded, events, {}))).toEqual([12, 11, 10]);
  });

  test('only entries the filters let through', () => {
    const events = [
      recorded(testAuditEntry(12, { action: 'role.created', targets: [] })),
      recorded(testAuditEntry(13)),
      recorded(testAuditEntry(14, { outcome: 'failure' })),
    ];
    expect(seqs(liveAuditEntries(events, { action: 'organization.created', outcome: 'success' }))).toEqual([
      13,
    ]);
    expect(seqs(liveAuditEntries(events, { q: 'research 14' }))).toEqual([14]);
  });

  test('other events on the channel are ignored', () => {
    expect(liveAuditEntries([event('audit.something_else', { id: 'x' })], {})).toEqual([]);
  });
});

describe('how entries read', () => {
  test('actors: kind and name, or the id when there is no name', () => {
    expect(actorOf({ type: 'user', id: 'u1', name: 'Ada' })).toEqual({ kind: 'Person', name: 'Ada' });
    expect(actorOf({ type: 'system', id: 'billing.renewals', name: null })).toEqual({
      kind: 'System',
      name: 'billing.renewals',
    });
    expect(actorOf({ type: 'api_key', id: null, name: null })).toEqual({ kind: 'API key', name: '—' });
  });

  test('actions: the catalog’s description; target types: every kind once, sorted', () => {
    const catalog = [
      { action: 'role.created', description: 'A custom role was created.', targets: ['role'] },
      { action: 'invitation.accepted', description: 'Joined.', targets: ['invitation', 'user'] },
      { action: 'member.updated', description: 'Changed.', targets: ['user'] },
    ];
    expect(describeAction('role.created', catalog)).toBe('A custom role was created.');
    expect(describeAction('role.renamed', catalog)).toBeNull();
    expect(targetTypesOf(catalog)).toEqual(['invitation', 'role', 'user']);
  });

  test('changed values', () => {
    expect(changeValueText('Acme')).toBe('Acme');
    expect(changeValueText(null)).toBe('null');
    expect(changeValueText(['a', 1])).toBe('["a",1]');
    expect(changeValueText(undefined)).toBe('—');
  });
});
