import { t } from 'elysia';
import { TenantModel } from '../auth/model.ts';
import { Timestamp, Uuid } from '../shared-model.ts';

export const RefreshBody = t.Object(
  { refreshToken: t.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const SwitchTenantBody = t.Object({ tenantId: Uuid }, { additionalProperties: false });

export const TokenPair = t.Object({
  accessToken: t.String(),
  refreshToken: t.String({
    description: 'Opaque; spent by the next refresh. Reusing a spent one ends the session.',
  }),
  expiresIn: t.Integer({ description: 'Access-token lifetime in seconds' }),
});
export type TokenPair = typeof TokenPair.static;

export const SwitchTenantResponse = t.Object({ ...TokenPair.properties, tenant: TenantModel });
export type SwitchTenantResponse = typeof SwitchTenantResponse.static;

export const SessionModel = t.Object({
  id: Uuid,
  tenantId: Uuid,
  userAgent: t.Union([t.String(), t.Null()]),
  ipAddress: t.Union([t.String(), t.Null()]),
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  expiresAt: Timestamp,
  current: t.Boolean({ description: 'The session of the token making this request' }),
});
export type SessionModel = typeof SessionModel.static;

export const SessionList = t.Object({ items: t.Array(SessionModel), nextCursor: t.Null() });
export type SessionList = typeof SessionList.static;

export const SessionParams = t.Object({ id: Uuid });
