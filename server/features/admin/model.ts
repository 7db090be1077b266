import { t } from 'elysia';
import { Timestamp, Uuid } from '../shared-model.ts';

/** A tenant as platform administration sees it. */
export const AdminTenantModel = t.Object({
  id: Uuid,
  name: t.String(),
  slug: t.String(),
  status: t.Union([t.Literal('active'), t.Literal('suspended')]),
  memberCount: t.Integer(),
  planId: t.Union([t.String(), t.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type AdminTenantModel = typeof AdminTenantModel.static;

export const AdminTenantPage = t.Object({
  items: t.Array(AdminTenantModel),
  nextCursor: t.Union([Uuid, t.Null()]),
});
export type AdminTenantPage = typeof AdminTenantPage.static;
