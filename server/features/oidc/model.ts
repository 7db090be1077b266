import { t } from 'elysia';
import { Uuid } from '../shared-model.ts';

/** An OpenID Connect provider people can sign in with, as configured on the server. */
export const OidcProviderModel = t.Object({ id: t.String(), name: t.String() });
export type OidcProviderModel = typeof OidcProviderModel.static;

export const OidcProviderList = t.Object({ items: t.Array(OidcProviderModel) });
export type OidcProviderList = typeof OidcProviderList.static;

export const OidcExchangeBody = t.Object(
  { code: t.String({ minLength: 1, maxLength: 256 }), tenantId: t.Optional(Uuid) },
  { additionalProperties: false },
);
export type OidcExchangeBody = typeof OidcExchangeBody.static;
