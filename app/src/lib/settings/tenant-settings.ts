import type { Branding, TenantSettings, UpdateTenantSettingsInput } from '../api';
import { isHexColor } from '../branding/palette';

/** The settings form as typed: every field a string, an empty one meaning "not set". */
export interface TenantSettingsDraft {
  name: string;
  logoUrl: string;
  primaryColor: string;
  customDomain: string;
}

export function draftFromSettings(settings: TenantSettings): TenantSettingsDraft {
  return {
    name: settings.name,
    logoUrl: settings.branding.logoUrl ?? '',
    primaryColor: settings.branding.primaryColor ?? '',
    customDomain: settings.branding.customDomain ?? '',
  };
}

/**
 * The draft after the saved settings changed from `before` to `after` (someone saved them, maybe in another
 * tab): fields left as they were follow the new values; fields the person has edited keep their edits.
 */
export function rebaseDraft(
  draft: TenantSettingsDraft,
  before: TenantSettings,
  after: TenantSettings,
): TenantSettingsDraft {
  const was = draftFromSettings(before);
  const now = draftFromSettings(after);
  const rebased = { ...draft };
  for (const field of ['name', 'logoUrl', 'primaryColor', 'customDomain'] as const) {
    if (draft[field] === was[field]) rebased[field] = now[field];
  }
  return rebased;
}

/**
 * The `PATCH /v1/tenant` body for what the form changed, or `null` when nothing did. Only changed fields are
 * sent, so saving the name never rewrites branding someone else changed meanwhile; a cleared field is `null`.
 */
export function tenantSettingsChanges(
  settings: TenantSettings,
  draft: TenantSettingsDraft,
): UpdateTenantSettingsInput | null {
  const name = draft.name.trim();
  const wanted: Branding = {
    logoUrl: draft.logoUrl.trim() || null,
    primaryColor: draft.primaryColor.trim().toLowerCase() || null,
    customDomain: draft.customDomain.trim().toLowerCase() || null,
  };
  const saved: Branding = {
    ...settings.branding,
    primaryColor: settings.branding.primaryColor?.toLowerCase() ?? null,
    customDomain: settings.branding.customDomain?.toLowerCase() ?? null,
  };
  const branding: Partial<Branding> = {};
  for (const field of ['logoUrl', 'primaryColor', 'customDomain'] as const) {
    if (wanted[field] !== saved[field]) branding[field] = wanted[field];
  }
  const changes: UpdateTenantSettingsInput = {
    ...(name !== settings.name ? { name } : {}),
    ...(Object.keys(branding).length > 0 ? { branding } : {}),
  };
  return Object.keys(changes).length > 0 ? changes : null;
}

/** Problems the form can name before asking the server, keyed like the server's field errors. */
export function checkTenantSettingsDraft(draft: TenantSettingsDraft): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!draft.name.trim()) problems.name = 'Enter the workspace name.';
  const logoUrl = draft.logoUrl.trim();
  if (logoUrl && !/^https:\/\/\S+$/.test(logoUrl)) {
    problems['branding.logoUrl'] = 'Use an https:// address.';
  }
  const primaryColor = draft.primaryColor.trim();
  if (primaryColor && !isHexColor(primaryColor)) {
    problems['branding.primaryColor'] = 'Use a hex colour such as #4f46e5.';
  }
  return problems;
}
