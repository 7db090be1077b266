import type { AuditEntry, AuditQuery } from '../api';

/** The filters in the order the query string lists them (a shared link reads the same each time). */
export const auditFilterNames = [
  'action',
  'actorId',
  'targetType',
  'targetId',
  'outcome',
  'from',
  'to',
  'q',
] as const satisfies ReadonlyArray<keyof AuditQuery>;

export type AuditFilterName = (typeof auditFilterNames)[number];

/**
 * The filters a page's URL asks for. Values are taken as they are, unchecked: the server answers a bad one
 * with a 422 naming it, which the page shows (a link someone edited by hand, or made by a newer version).
 */
export function filtersFromSearch(search: URLSearchParams): AuditQuery {
  const filters: AuditQuery = {};
  for (const name of auditFilterNames) {
    const value = search.get(name);
    if (value !== null && value !== '') filters[name] = value;
  }
  return filters;
}

/** The query string for `filters` (unset and empty ones left out), without the `?`. */
export function searchOfFilters(filters: AuditQuery): string {
  const search = new URLSearchParams();
  for (const name of auditFilterNames) {
    const value = filters[name];
    if (value !== undefined && value !== '') search.set(name, value);
  }
  return search.toString();
}

/** The audit page showing `filters`: the link to share. */
export function auditPagePath(filters: AuditQuery): string {
  const search = searchOfFilters(filters);
  return search ? `/audit?${search}` : '/audit';
}

export function hasFilters(filters: AuditQuery): boolean {
  return searchOfFilters(filters) !== '';
}

/** `filters` without empty values (what a form produced), so that they compare and serialise cleanly. */
export function withoutEmptyFilters(filters: AuditQuery): AuditQuery {
  return filtersFromSearch(new URLSearchParams(searchOfFilters(filters)));
}

export function sameFilters(left: AuditQuery, right: AuditQuery): boolean {
  return searchOfFilters(left) === searchOfFilters(right);
}

/** A filter the person got wrong in the form, caught before asking the server. */
export interface FilterMistake {
  field: AuditFilterName;
  message: string;
}

/** What the form can tell at once: a date that is not one, or a window that ends before it starts. */
export function filterMistakes(filters: AuditQuery): FilterMistake[] {
  const mistakes: FilterMistake[] = [];
  const from = instantOf(filters.from);
  const to = instantOf(filters.to);
  if (from === null) mistakes.push({ field: 'from', message: 'Not a date and time.' });
  if (to === null) mistakes.push({ field: 'to', message: 'Not a date and time.' });
  if (from && to && from.getTime() > to.getTime()) {
    mistakes.push({ field: 'from', message: 'Must not be after “To”.' });
  }
  return mistakes;
}

/** The instant an ISO value names; `undefined` when unset, `null` when it names none. */
function instantOf(value: string | undefined): Date | null | undefined {
  if (value === undefined || value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Whether an entry belongs to the list `filters` narrow, as the server decides it (`GET /v1/audit-logs`):
 * live entries are put into a filtered list by this test. `q` is a case-insensitive substring of the actor's
 * name, the action or a target's name; a target filter needs one target matching both its type and its id.
 */
export function entryMatchesFilters(entry: AuditEntry, filters: AuditQuery): boolean {
  if (filters.action !== undefined && entry.action !== filters.action) return false;
  if (filters.actorId !== undefined && entry.actor.id !== filters.actorId) return false;
  if (filters.outcome !== undefined && entry.outcome !== filters.outcome) return false;
  if (filters.targetType !== undefined || filters.targetId !== undefined) {
    const named = entry.targets.some(
      (target) =>
        (filters.targetType === undefined || target.type === filters.targetType) &&
        (filters.targetId === undefined || target.id === filters.targetId),
    );
    if (!named) return false;
  }
  const occurredAt = Date.parse(entry.occurredAt);
  const from = instantOf(filters.from);
  const to = instantOf(filters.to);
  if (from === null || to === null) return false;
  if (from && occurredAt < from.getTime()) return false;
  // `to` is exclusive: windows set one after another never show an entry twice.
  if (to && occurredAt >= to.getTime()) return false;
  if (filters.q !== undefined && filters.q.trim() !== '') {
    // The server searches these, one per line and lower-cased (audit_search_text, migration 0036).
    const text = [entry.actor.name, entry.action, ...entry.targets.map((target) => target.name)]
      .filter((part): part is string => part !== null)
      .join('\n')
      .toLowerCase();
    if (!text.includes(filters.q.toLowerCase())) return false;
  }
  return true;
}

const pad = (value: number) => String(value).padStart(2, '0');

/**
 * An ISO instant as a `datetime-local` input shows it, in the person's time zone (`2025-06-15T14:30`, with
 * seconds when it has some); empty for no or no valid instant.
 */
export function localInputOf(iso: string | undefined): string {
  const date = instantOf(iso);
  if (!date) return '';
  const minutes = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(
    date.getHours(),
  )}:${pad(date.getMinutes())}`;
  return date.getSeconds() === 0 && date.getMilliseconds() === 0
    ? minutes
    : `${minutes}:${pad(date.getSeconds())}`;
}

/** A `datetime-local` input's value (the person's time zone) as an ISO instant; `undefined` when empty. */
export function isoOfLocalInput(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  // Without an offset, `Date` reads a date-time string in the local time zone, as the input means it.
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}
