import { describe, expect, test } from 'bun:test';
import type { AdminTenant } from './api';
import { adminSectionOf, withAdminEntry } from './navigation';
import { appendTenants, tenantFiltersFromSearch, tenantListPath } from './tenants';

const tenant = (id: string): AdminTenant => ({
  id,
  name: `Tenant ${id}`,
  slug: `tenant-${id}`,
  status: 'active',
  memberCount: 1,
  planId: null,
  balance: 0,
  createdAt: '2026-06-15T12:00:00.000Z',
  updatedAt: '2026-06-15T12:00:00.000Z',
});

describe('the tenant list', () => {
  test('filters round-trip through the URL; an unknown status reads as any', () => {
    expect(tenantFiltersFromSearch(new URLSearchParams('q=%20acme%20&status=suspended'))).toEqual({
      q: 'acme',
      status: 'suspended',
    });
    expect(tenantFiltersFromSearch(new URLSearchParams('status=deleted'))).toEqual({ q: '', status: '' });
    expect(tenantListPath({ q: 'a b', status: 'active' })).toBe('/admin?q=a+b&status=active');
    expect(tenantListPath({ q: ' ', status: '' })).toBe('/admin');
  });

  test('a further page adds only tenants not shown yet', () => {
    expect(appendTenants([tenant('1'), tenant('2')], [tenant('2'), tenant('3')]).map((t) => t.id)).toEqual([
      '1',
      '2',
      '3',
    ]);
  });
});

describe('navigation', () => {
  const items = [{ href: '/dashboard', label: 'Dashboard' }];

  test('the Admin entry only for platform administrators', () => {
    expect(withAdminEntry(items, { platformAdmin: true }).map((item) => item.label)).toEqual([
      'Dashboard',
      'Admin',
    ]);
    expect(withAdminEntry(items, { platformAdmin: false })).toEqual(items);
  });

  test("the console's sections", () => {
    expect(adminSectionOf('/admin')).toBe('/admin');
    expect(adminSectionOf('/admin/tenants/1')).toBe('/admin');
    expect(adminSectionOf('/admin/audit')).toBe('/admin/audit');
  });
});
