import type { AdminAuditEvent } from './api';

/**
 * The console's cross-tenant audit stream, as plain data: the entries loaded (filtered by the server)
 * and those that arrived live on `admin:audit` (every tenant's, filtered here), merged newest first by
 * feed position; while paused, arrivals are held and counted, and shown on resume.
 */

/** What the stream is narrowed to; an empty string means any. */
export interface AuditStreamFilters {
  tenantId: string;
  action: string;
  /** An actor's id: a person's, API key's or platform admin's, or a system job's name. */
  actorId: string;
}

export const noFilters: AuditStreamFilters = { tenantId: '', action: '', actorId: '' };

export interface AuditStreamState {
  /** Arrivals shown (or to show), in the order they came. */
  live: AdminAuditEvent[];
  /** Arrivals while paused, not shown until resumed. */
  held: AdminAuditEvent[];
  paused: boolean;
}

export const emptyStream: AuditStreamState = { live: [], held: [], paused: false };

/** At most this many live arrivals are kept (the oldest go first). */
export const MAX_LIVE = 1000;

/** The filters named in a URL's query string (`?tenantId=&action=&actorId=`). */
export function filtersFromSearch(search: URLSearchParams): AuditStreamFilters {
  return {
    tenantId: search.get('tenantId')?.trim() ?? '',
    action: search.get('action')?.trim() ?? '',
    actorId: search.get('actorId')?.trim() ?? '',
  };
}

/** The query string for `filters` (only those set), with a leading `?`, or '' for none. */
export function searchOfFilters(filters: AuditStreamFilters): string {
  const search = new URLSearchParams();
  for (const name of ['tenantId', 'action', 'actorId'] as const) {
    const value = filters[name].trim();
    if (value) search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function matchesFilters(event: AdminAuditEvent, filters: AuditStreamFilters): boolean {
  if (filters.tenantId && event.tenantId !== filters.tenantId) return false;
  if (filters.action && event.data.action !== filters.action) return false;
  if (filters.actorId && event.data.actor.id !== filters.actorId) return false;
  return true;
}

/** A live arrival: shown, or held while paused; one seen before (same position) is dropped. */
export function receive(state: AuditStreamState, event: AdminAuditEvent): AuditStreamState {
  const seen = (list: AdminAuditEvent[]) => list.some((item) => item.auditPosition === event.auditPosition);
  if (seen(state.live) || seen(state.held)) return state;
  if (state.paused) return { ...state, held: [...state.held, event] };
  const live = [...state.live, event];
  return { ...state, live: live.length > MAX_LIVE ? live.slice(live.length - MAX_LIVE) : live };
}

export function pause(state: AuditStreamState): AuditStreamState {
  return state.paused ? state : { ...state, paused: true };
}

/** Shows what was held, after what was shown, and goes on showing arrivals. */
export function resume(state: AuditStreamState): AuditStreamState {
  if (!state.paused) return state;
  const live = [...state.live, ...state.held];
  return {
    live: live.length > MAX_LIVE ? live.slice(live.length - MAX_LIVE) : live,
    held: [],
    paused: false,
  };
}

/** How many held arrivals the filters would show (what the resume button announces). */
export function heldCount(state: AuditStreamState, filters: AuditStreamFilters): number {
  return state.held.filter((event) => matchesFilters(event, filters)).length;
}

/**
 * What the stream shows: the loaded entries and the shown arrivals that match the filters, newest first
 * by feed position, each once.
 */
export function visibleEntries(
  loaded: readonly AdminAuditEvent[],
  state: AuditStreamState,
  filters: AuditStreamFilters,
): AdminAuditEvent[] {
  const byPosition = new Map<number, AdminAuditEvent>();
  for (const event of [...loaded, ...state.live]) {
    if (matchesFilters(event, filters)) byPosition.set(event.auditPosition, event);
  }
  return [...byPosition.values()].sort((x, y) => y.auditPosition - x.auditPosition);
}

/**
 * Tenant names by id, from the tenants the console loaded and from entries that name their tenant as a
 * target (a sign-up does): live entries of a tenant made a moment ago still show a name.
 */
export function tenantNames(
  tenants: ReadonlyArray<{ id: string; name: string }>,
  events: readonly AdminAuditEvent[],
): Map<string, string> {
  const names = new Map<string, string>();
  for (const event of events) {
    for (const target of event.data.targets) {
      if (target.type === 'tenant' && target.id === event.tenantId && target.name) {
        names.set(target.id, target.name);
      }
    }
  }
  for (const tenant of tenants) names.set(tenant.id, tenant.name);
  return names;
}

/** How an entry's actor reads: their name, else their id, else what kind of actor it was. */
export function actorLabel(event: AdminAuditEvent): string {
  const { actor } = event.data;
  if (actor.name) return actor.name;
  if (actor.id)
    return actor.type === 'system' ? actor.id : `${actor.type.replace('_', ' ')} ${actor.id.slice(0, 8)}`;
  return actor.type === 'system' ? 'System' : 'Someone';
}

/** The entry's targets in a few words: `organization “Sales”, user “Ada”`. */
export function targetsLabel(event: AdminAuditEvent): string {
  return event.data.targets
    .map((target) =>
      target.name ? `${target.type.replace('_', ' ')} “${target.name}”` : target.type.replace('_', ' '),
    )
    .join(', ');
}
