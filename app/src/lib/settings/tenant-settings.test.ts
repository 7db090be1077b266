import { describe, expect, test } from 'bun:test';
import type { TenantSettings } from '../api';
import {
  checkTenantSettingsDraft,
  draftFromSettings,
  rebaseDraft,
  tenantSettingsChanges,
} from './tenant-settings';

const settings: TenantSettings = {
  id: 't1',
  name: 'Acme',
  slug: 'acme',
  status: 'active',
  branding: { logoUrl: 'https://cdn.acme.test/logo.svg', primaryColor: '#4F46E5', customDomain: null },
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
};

describe('tenantSettingsChanges', () => {
  test('is null when the form still says what the server says', () => {
    expect(tenantSettingsChanges(settings, draftFromSettings(settings))).toBeNull();
    expect(
      tenantSettingsChanges(settings, { ...draftFromSettings(settings), primaryColor: '#4f46e5 ' }),
    ).toBeNull();
  });

  test('sends only the changed fields, trimmed and with hosts and colours in lower case', () => {
    const draft = {
      ...draftFromSettings(settings),
      name: '  Acme Inc ',
      primaryColor: '#0F766E',
      customDomain: 'App.Acme.com',
    };

    expect(tenantSettingsChanges(settings, draft)).toEqual({
      name: 'Acme Inc',
      branding: { primaryColor: '#0f766e', customDomain: 'app.acme.com' },
    });
  });

  test('a cleared field is sent as null', () => {
    expect(tenantSettingsChanges(settings, { ...draftFromSettings(settings), logoUrl: '  ' })).toEqual({
      branding: { logoUrl: null },
    });
  });
});

describe('checkTenantSettingsDraft', () => {
  test('names the fields the server would refuse', () => {
    expect(
      checkTenantSettingsDraft({
        name: ' ',
        logoUrl: 'http://x.test/a.png',
        primaryColor: 'teal',
        customDomain: '',
      }),
    ).toEqual({
      name: 'Enter the workspace name.',
      'branding.logoUrl': 'Use an https:// address.',
      'branding.primaryColor': 'Use a hex colour such as #4f46e5.',
    });
    expect(checkTenantSettingsDraft(draftFromSettings(settings))).toEqual({});
  });
});

describe('rebaseDraft', () => {
  test('untouched fields follow a change saved elsewhere; edited fields keep what was typed', () => {
    const renamedElsewhere: TenantSettings = {
      ...settings,
      name: 'Acme Worldwide',
      branding: { ...settings.branding, primaryColor: '#0f766e' },
      updatedAt: '2025-01-02T00:00:00.000Z',
    };
    const typing = { ...draftFromSettings(settings), primaryColor: '#be123c' };

    const rebased = rebaseDraft(typing, settings, renamedElsewhere);

    expect(rebased).toEqual({ ...draftFromSettings(renamedElsewhere), primaryColor: '#be123c' });
    expect(tenantSettingsChanges(renamedElsewhere, rebased)).toEqual({
      branding: { primaryColor: '#be123c' },
    });
  });

  test('a pristine form has nothing to save after a change elsewhere', () => {
    const renamed: TenantSettings = { ...settings, name: 'Acme Two' };
    const rebased = rebaseDraft(draftFromSettings(settings), settings, renamed);
    expect(tenantSettingsChanges(renamed, rebased)).toBeNull();
  });
});
