import { t } from 'elysia';
import { Timestamp, Uuid } from '../shared-model.ts';

export const BrandingModel = t.Object({
  logoUrl: t.Union([t.String(), t.Null()]),
  primaryColor: t.Union([t.String(), t.Null()]),
  customDomain: t.Union([t.String(), t.Null()]),
});
export type BrandingModel = typeof BrandingModel.static;

export const TenantSettings = t.Object({
  id: Uuid,
  name: t.String(),
  slug: t.String(),
  status: t.Union([t.Literal('active'), t.Literal('suspended')]),
  branding: BrandingModel,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type TenantSettings = typeof TenantSettings.static;

export const UpdateTenantBody = t.Object(
  {
    name: t.Optional(t.String({ minLength: 1, maxLength: 120, pattern: '\\S' })),
    branding: t.Optional(
      t.Object(
        {
          logoUrl: t.Optional(
            t.Union([
              t.String({ maxLength: 2048, pattern: '^https://[^\\s]+$', description: 'An https URL' }),
              t.Null(),
            ]),
          ),
          primaryColor: t.Optional(
            t.Union([
              t.String({ pattern: '^#[0-9a-fA-F]{6}$', description: 'A hex colour, #rrggbb' }),
              t.Null(),
            ]),
          ),
          customDomain: t.Optional(
            t.Union([
              t.String({
                maxLength: 253,
                pattern: '^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,63}$',
                description: 'A host name such as app.example.com',
              }),
              t.Null(),
            ]),
          ),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateTenantBody = typeof UpdateTenantBody.static;
