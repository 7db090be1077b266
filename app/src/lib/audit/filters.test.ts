import { describe, expect, test } from 'bun:test';
import {
  auditPagePath,
  entryMatchesFilters,
  filterMistakes,
  filtersFromSearch,
  hasFilters,
  isoOfLocalInput,
  localInputOf,
  sameFilters,
  searchOfFilters,
  withoutEmptyFilters,
} from './filters';
import { testAuditEntry } from './testing';

describe('filters and the query string', () => {
  test('round-trip, in a fixed order, leaving out empty and unknown parameters', () => {
    const search = new URLSearchParams(
      'q=research&action=organization.created&outcome=&page=2&from=2025-06-01T00:00:00.000Z',
    );
    const filters = filtersFromSearch(search);
    expect(filters).toEqual({
      q: 'research',
      action: 'organization.created',
      from: '2025-06-01T00:00:00.000Z',
    });
    expect(searchOfFilters(filters)).toBe(
      'action=organization.created&from=2025-06-01T00%3A00%3A00.000Z&q=research',
    );
    expect(filtersFromSearch(new URLSearchParams(searchOfFilters(filters)))).toEqual(filters);
  });

  test('values are kept as given, for the server to judge', () => {
    expect(filtersFromSearch(new URLSearchParams('action=no.such&from=yesterday'))).toEqual({
      action: 'no.such',
      from: 'yesterday',
    });
  });

  test('the page path, with and without filters', () => {
    expect(auditPagePath({})).toBe('/audit');
    expect(auditPagePath({ actorId: 'user 1', q: '' })).toBe('/audit?actorId=user+1');
    expect(hasFilters({ q: '' })).toBe(false);
    expect(hasFilters({ outcome: 'failure' })).toBe(true);
  });

  test('empty values do not count when comparing', () => {
    expect(withoutEmptyFilters({ q: '', action: 'role.created', to: undefined })).toEqual({
      action: 'role.created',
    });
    expect(sameFilters({ q: '', action: 'role.created' }, { action: 'role.created' })).toBe(true);
    expect(sameFilters({ q: 'a' }, { q: 'b' })).toBe(false);
  });
});

describe('filterMistakes', () => {
  test('a window that ends before it starts', () => {
    expect(filterMistakes({ from: '2025-06-02T00:00:00.000Z', to: '2025-06-01T00:00:00.000Z' })).toEqual([
      { field: 'from', message: 'Must not be after “To”.' },
    ]);
  });

  test('an empty window (from = to) and open windows are fine', () => {
    expect(filterMistakes({ from: '2025-06-01T00:00:00.000Z', to: '2025-06-01T00:00:00.000Z' })).toEqual([]);
    expect(filterMistakes({ from: '2025-06-01T00:00:00.000Z' })).toEqual([]);
    expect(filterMistakes({})).toEqual([]);
  });

  test('a date that is not one', () => {
    expect(filterMistakes({ to: 'soon' })).toEqual([{ field: 'to', message: 'Not a date and time.' }]);
  });
});

describe('entryMatchesFilters', () => {
  const entry = testAuditEntry(7, {
    action: 'member.updated',
    actor: { type: 'user', id: 'user-1', name: 'Ada Lovelace' },
    targets: [
      { type: 'user', id: 'user-2', name: 'Charles Babbage' },
      { type: 'role', id: 'role-1', name: null },
    ],
    occurredAt: '2025-06-15T12:00:00.000Z',
    outcome: 'failure',
  });

  test('no filter lets everything through', () => {
    expect(entryMatchesFilters(entry, {})).toBe(true);
  });

  test('action, actor and outcome must be equal', () => {
    expect(
      entryMatchesFilters(entry, { action: 'member.updated', actorId: 'user-1', outcome: 'failure' }),
    ).toBe(true);
    expect(entryMatchesFilters(entry, { action: 'member.removed' })).toBe(false);
    expect(entryMatchesFilters(entry, { actorId: 'user-2' })).toBe(false);
    expect(entryMatchesFilters(entry, { outcome: 'success' })).toBe(false);
  });

  test('a target filter needs one target of that type with that id', () => {
    expect(entryMatchesFilters(entry, { targetType: 'role' })).toBe(true);
    expect(entryMatchesFilters(entry, { targetId: 'user-2' })).toBe(true);
    expect(entryMatchesFilters(entry, { targetType: 'user', targetId: 'user-2' })).toBe(true);
    // Both exist, but not on the same target.
    expect(entryMatchesFilters(entry, { targetType: 'role', targetId: 'user-2' })).toBe(false);
    expect(entryMatchesFilters(entry, { targetType: 'organization' })).toBe(false);
  });

  test('from is inclusive, to exclusive', () => {
    expect(entryMatchesFilters(entry, { from: '2025-06-15T12:00:00.000Z' })).toBe(true);
    expect(entryMatchesFilters(entry, { from: '2025-06-15T12:00:00.001Z' })).toBe(false);
    expect(entryMatchesFilters(entry, { to: '2025-06-15T12:00:00.001Z' })).toBe(true);
    expect(entryMatchesFilters(entry, { to: '2025-06-15T12:00:00.000Z' })).toBe(false);
    expect(entryMatchesFilters(entry, { from: 'not a date' })).toBe(false);
  });

  test('q is a case-insensitive substring of the actor, the action or a target name', () => {
    expect(entryMatchesFilters(entry, { q: 'LOVELACE' })).toBe(true);
    expect(entryMatchesFilters(entry, { q: 'member.upd' })).toBe(true);
    expect(entryMatchesFilters(entry, { q: 'babbage' })).toBe(true);
    expect(entryMatchesFilters(entry, { q: 'role-1' })).toBe(false);
    expect(entryMatchesFilters(entry, { q: 'Grace' })).toBe(false);
    // Blank is no search, as on the server.
    expect(entryMatchesFilters(entry, { q: '   ' })).toBe(true);
  });

  test('filters combine', () => {
    expect(entryMatchesFilters(entry, { q: 'babbage', action: 'member.removed' })).toBe(false);
    expect(entryMatchesFilters(entry, { q: 'babbage', action: 'member.updated' })).toBe(true);
  });
});

describe('datetime-local values', () => {
  test('round-trip through the person’s time zone', () => {
    const iso = isoOfLocalInput('2025-06-15T14:30');
    expect(iso).toBe(new Date(2025, 5, 15, 14, 30).toISOString());
    expect(localInputOf(iso)).toBe('2025-06-15T14:30');
  });

  test('seconds are shown when there are some; nothing for no instant', () => {
    expect(localInputOf(new Date(2025, 5, 15, 14, 30, 5).toISOString())).toBe('2025-06-15T14:30:05');
    expect(localInputOf(undefined)).toBe('');
    expect(localInputOf('garbage')).toBe('');
    expect(isoOfLocalInput('')).toBeUndefined();
  });
});
