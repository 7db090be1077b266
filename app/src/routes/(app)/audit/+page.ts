import { requirePermission } from '$lib/access/require-permission';
import {
  ApiError,
  type AuditActionInfo,
  type AuditEntryPage,
  getAuditCatalog,
  listAllMembers,
  listAuditEntries,
  type Member,
} from '$lib/api';
import { AUDIT_PAGE_SIZE } from '$lib/audit/entries';
import { filtersFromSearch } from '$lib/audit/filters';
import { raiseLoadFailure } from '$lib/load-failure';
import { realtime } from '$lib/realtime/realtime.svelte';
import type { PageLoad } from './$types';

/** The catalog describes the API, not the tenant: read once per tab. */
let catalog: Promise<AuditActionInfo[]> | null = null;

const noEntries: AuditEntryPage = { items: [], nextCursor: null };

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:audit');
  const { identity } = await parent();
  requirePermission(identity, 'audit:read');
  const filters = filtersFromSearch(url.searchParams);
  // Read before fetching: every entry recorded after this seq arrives as an event, and the page adds it.
  const seq = realtime.lastSeq('audit');
  catalog ??= getAuditCatalog().catch((failure) => {
    catalog = null;
    throw failure;
  });
  try {
    const [actions, members] = await Promise.all([
      catalog,
      // Only the names offered by the actor filter; without members:read it offers what the entries show.
      identity.permissions.includes('members:read')
        ? listAllMembers().catch(() => [] as Member[])
        : Promise.resolve<Member[]>([]),
    ]);
    try {
      const page = await listAuditEntries(filters, { limit: AUDIT_PAGE_SIZE });
      return { filters, page, problem: null, catalog: actions, members, seq };
    } catch (failure) {
      // A filter the server refuses (a link edited by hand): the page stays, with the server's reason,
      // and the filters to put right.
      if (failure instanceof ApiError && failure.status === 422) {
        return { filters, page: noEntries, problem: failure, catalog: actions, members, seq };
      }
      throw failure;
    }
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
