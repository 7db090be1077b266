import type { AuditActionInfo, AuditEntry, AuditQuery } from '../api';
import { isEventOf, type RealtimeEvent } from '../realtime/apply';
import type { BadgeTone } from '../ui/badge';
import { entryMatchesFilters } from './filters';

/**
 * `known` with the entries of `incoming` it does not hold yet (by id), newest first (by seq: the chain's
 * order, without ties). An entry arrives twice when the page is reloaded after it came live, or when a
 * page of older entries overlaps what is shown; it is listed once.
 */
export function mergeAuditEntries(
  known: readonly AuditEntry[],
  incoming: readonly AuditEntry[],
): readonly AuditEntry[] {
  const ids = new Set(known.map((entry) => entry.id));
  const added: AuditEntry[] = [];
  for (const entry of incoming) {
    if (ids.has(entry.id)) continue;
    ids.add(entry.id);
    added.push(entry);
  }
  if (added.length === 0) return known;
  return [...known, ...added].sort((left, right) => right.seq - left.seq);
}

/** The entries that `audit.recorded` events carry, for the list `filters` narrow. */
export function liveAuditEntries(events: readonly RealtimeEvent[], filters: AuditQuery): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const event of events) {
    if (isEventOf(event, 'audit.recorded') && entryMatchesFilters(event.data, filters)) {
      entries.push(event.data);
    }
  }
  return entries;
}

/**
 * What the page shows: the loaded pages, with the entries recorded since that belong to the filtered list,
 * each once, newest first.
 */
export function auditEntriesShown(
  loaded: readonly AuditEntry[],
  events: readonly RealtimeEvent[],
  filters: AuditQuery,
): readonly AuditEntry[] {
  return mergeAuditEntries(loaded, liveAuditEntries(events, filters));
}

const actorKinds: Record<AuditEntry['actor']['type'], string> = {
  user: 'Person',
  api_key: 'API key',
  platform_admin: 'Platform admin',
  system: 'System',
};

/** How an actor reads in the table: the kind, and a name (the id, or the job, when there is none). */
export function actorOf(actor: AuditEntry['actor']): { kind: string; name: string } {
  return { kind: actorKinds[actor.type] ?? actor.type, name: actor.name ?? actor.id ?? '—' };
}

/** The catalog's description of an action; an action the catalog does not list reads as itself. */
export function describeAction(action: string, catalog: readonly AuditActionInfo[]): string | null {
  return catalog.find((info) => info.action === action)?.description ?? null;
}

/** Every kind of target the catalog's actions name, sorted: the choices of the target filter. */
export function targetTypesOf(catalog: readonly AuditActionInfo[]): string[] {
  return [...new Set(catalog.flatMap((info) => info.targets))].sort();
}

export function outcomeTone(outcome: AuditEntry['outcome']): BadgeTone {
  return outcome === 'success' ? 'success' : 'danger';
}

/** A changed field's value as text: strings as they are, anything else as JSON (`null`, numbers, lists). */
export function changeValueText(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Entries per page of the trail (the first, and each "Load more"). */
export const AUDIT_PAGE_SIZE = 50;

/** One choice of the actor filter. */
export interface ActorChoice {
  id: string;
  label: string;
}

/**
 * The actors to filter by: the tenant's members, then the other actors of the entries shown (API keys,
 * system jobs, people who left), and the one filtered by now if it is none of those; by label.
 */
export function actorChoices(
  members: readonly { userId: string; name: string | null; email: string }[],
  entries: readonly AuditEntry[],
  current: string | undefined,
): ActorChoice[] {
  const choices = new Map<string, ActorChoice>();
  for (const member of members) {
    choices.set(member.userId, {
      id: member.userId,
      label: member.name ? `${member.name} (${member.email})` : member.email,
    });
  }
  for (const { actor } of entries) {
    if (actor.id === null || choices.has(actor.id)) continue;
    const { kind, name } = actorOf(actor);
    choices.set(actor.id, { id: actor.id, label: `${name} (${kind})` });
  }
  if (current !== undefined && !choices.has(current)) choices.set(current, { id: current, label: current });
  return [...choices.values()].sort((left, right) => left.label.localeCompare(right.label));
}
