import { t } from 'elysia';
import { PermissionKey } from '../access/model.ts';
import { Timestamp, Uuid } from '../shared-model.ts';

export const ApiKeyModel = t.Object({
  id: Uuid,
  name: t.String(),
  scopes: t.Array(t.String()),
  prefix: t.String({ description: 'The first characters of the secret, to recognise a key' }),
  createdBy: Uuid,
  expiresAt: t.Union([Timestamp, t.Null()]),
  lastUsedAt: t.Union([Timestamp, t.Null()]),
  createdAt: Timestamp,
});
export type ApiKeyModel = typeof ApiKeyModel.static;

export const CreatedApiKey = t.Object({
  ...ApiKeyModel.properties,
  secret: t.String({ description: 'Shown once: send it as "Authorization: Bearer <secret>"' }),
});
export type CreatedApiKey = typeof CreatedApiKey.static;

export const ApiKeyList = t.Object({ items: t.Array(ApiKeyModel), nextCursor: t.Null() });
export type ApiKeyList = typeof ApiKeyList.static;

export const CreateApiKeyBody = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    scopes: t.Array(PermissionKey, { minItems: 1, maxItems: 20, uniqueItems: true }),
    expiresAt: t.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type CreateApiKeyBody = typeof CreateApiKeyBody.static;

export const ApiKeyParams = t.Object({ id: Uuid });
