import { describe, expect, test } from 'bun:test';
import { homePathFor, isInSection, navigationFor } from './navigation';

const labels = (permissions: string[]) => navigationFor(permissions).map((item) => item.label);

describe('navigationFor', () => {
  test('an owner sees every section, the dashboard first', () => {
    expect(
      labels([
        'credits:read',
        'org:read',
        'members:read',
        'api-keys:manage',
        'webhooks:manage',
        'billing:manage',
        'tenant:manage',
        'audit:read',
      ]),
    ).toEqual([
      'Dashboard',
      'Organizations',
      'Members',
      'Roles',
      'API keys',
      'Webhooks',
      'Billing',
      'Audit',
      'Settings',
    ]);
  });

  test('a viewer sees the dashboard, organizations, people, billing and settings but not API keys', () => {
    expect(labels(['org:read', 'members:read', 'credits:read'])).toEqual([
      'Dashboard',
      'Organizations',
      'Members',
      'Roles',
      'Billing',
      'Settings',
    ]);
  });

  test('the audit trail needs audit:read', () => {
    expect(labels(['audit:read'])).toEqual(['Audit', 'Settings']);
  });

  test('webhooks need webhooks:manage', () => {
    expect(labels(['webhooks:manage'])).toEqual(['Webhooks', 'Settings']);
  });

  test('billing and the dashboard need credits:read, not billing:manage', () => {
    expect(labels(['billing:manage'])).toEqual(['Settings']);
  });

  test('someone without any read permission still sees the settings', () => {
    expect(labels([])).toEqual(['Settings']);
  });
});

describe('homePathFor', () => {
  test('is the first section the person can open', () => {
    expect(homePathFor(['credits:read', 'org:read'])).toBe('/dashboard');
    expect(homePathFor(['org:read'])).toBe('/organizations');
    expect(homePathFor(['members:read'])).toBe('/members');
    expect(homePathFor([])).toBe('/settings');
  });
});

describe('isInSection', () => {
  test('matches the section and the pages beneath it only', () => {
    expect(isInSection('/members', '/members')).toBe(true);
    expect(isInSection('/members/123', '/members')).toBe(true);
    expect(isInSection('/membership', '/members')).toBe(false);
  });
});
