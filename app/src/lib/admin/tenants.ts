import type { AdminTenant, AdminTenantStatus } from './api';

/** How many tenants a page of the list shows; "Load more" fetches the next as many. */
export const TENANT_PAGE_SIZE = 25;

export interface TenantFilters {
  q: string;
  status: AdminTenantStatus | '';
}

const isTenantStatus = (value: string): value is AdminTenantStatus =>
  value === 'active' || value === 'suspended';

/** The list's filters from a URL's query string; an unknown status reads as any. */
export function tenantFiltersFromSearch(search: URLSearchParams): TenantFilters {
  const status = search.get('status') ?? '';
  return {
    q: (search.get('q') ?? '').trim(),
    status: isTenantStatus(status) ? status : '',
  };
}

/** `/admin` with the filters that are set. */
export function tenantListPath(filters: TenantFilters): string {
  const search = new URLSearchParams();
  if (filters.q.trim()) search.set('q', filters.q.trim());
  if (filters.status) search.set('status', filters.status);
  const text = search.toString();
  return text ? `/admin?${text}` : '/admin';
}

/** A further page after the ones shown: tenants already shown (changed since, say) keep their place. */
export function appendTenants(shown: readonly AdminTenant[], next: readonly AdminTenant[]): AdminTenant[] {
  const ids = new Set(shown.map((tenant) => tenant.id));
  return [...shown, ...next.filter((tenant) => !ids.has(tenant.id))];
}
