import { t } from 'elysia';
import { EventEnvelopeSchema } from '../../../realtime/events.ts';
import { AuditActionFilter, AuditEntryModel } from '../audit/model.ts';
import { MemberModel } from '../members/model.ts';
import { PageQuery, Timestamp, Uuid } from '../shared-model.ts';

const TenantStatus = t.Union([t.Literal('active'), t.Literal('suspended')]);

/** A tenant as platform administration sees it. */
export const AdminTenantModel = t.Object({
  id: Uuid,
  name: t.String(),
  slug: t.String(),
  status: TenantStatus,
  memberCount: t.Integer(),
  planId: t.Union([t.String(), t.Null()]),
  balance: t.Integer({ description: "The tenant's credit balance" }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type AdminTenantModel = typeof AdminTenantModel.static;

export const AdminTenantPage = t.Object({
  items: t.Array(AdminTenantModel),
  nextCursor: t.Union([Uuid, t.Null()]),
});
export type AdminTenantPage = typeof AdminTenantPage.static;

// Each field has a `title`: the 422 names it (see PageQuery).
export const AdminTenantQuery = t.Object({
  ...PageQuery.properties,
  q: t.Optional(
    t.String({
      title: 'q',
      maxLength: 200,
      description: "Case-insensitive substring of the tenant's name or slug (empty: no search)",
    }),
  ),
  status: t.Optional(
    t.Union([t.Literal('active'), t.Literal('suspended')], {
      title: 'status',
      description: 'Only tenants with this status',
    }),
  ),
});
export type AdminTenantQuery = typeof AdminTenantQuery.static;
export type AdminTenantFilters = Pick<AdminTenantQuery, 'q' | 'status'>;

/** A tenant with its members (the first 100 by id; `memberCount` is the whole count). */
export const AdminTenantDetail = t.Composite([AdminTenantModel, t.Object({ members: t.Array(MemberModel) })]);
export type AdminTenantDetail = typeof AdminTenantDetail.static;

/**
 * One `audit.recorded` event as `admin:audit` delivers it: the envelope, the entry as its data, and the
 * entry's position in the cross-tenant feed (`subscribe {channel: 'admin:audit', after}` resumes after it).
 */
export const AdminAuditEventModel = t.Object({
  id: Uuid,
  seq: t.Integer({ minimum: 1 }),
  type: t.Literal('audit.recorded'),
  version: t.Integer({ minimum: 1 }),
  tenantId: Uuid,
  occurredAt: Timestamp,
  actor: EventEnvelopeSchema.properties.actor,
  data: AuditEntryModel,
  auditPosition: t.Integer({ minimum: 1 }),
});
export type AdminAuditEventModel = typeof AdminAuditEventModel.static;

export const AdminAuditPage = t.Object({
  items: t.Array(AdminAuditEventModel, { description: 'Newest first' }),
  nextCursor: t.Union([t.Integer(), t.Null()], {
    description: 'Pass as `before` for the next (older) page; null when this page reached the end',
  }),
  head: t.Integer({
    minimum: 0,
    description:
      'The newest position of the feed when this page was read: subscribe to `admin:audit` with `after: head` to receive every later entry, with no gap',
  }),
});
export type AdminAuditPage = typeof AdminAuditPage.static;

export const AdminAuditQuery = t.Object({
  tenantId: t.Optional(
    t.String({ title: 'tenantId', format: 'uuid', description: "Only this tenant's entries" }),
  ),
  action: t.Optional(AuditActionFilter),
  actorId: t.Optional(
    t.String({
      title: 'actorId',
      minLength: 1,
      maxLength: 200,
      description: "The actor's id: a person's, API key's or platform admin's id, or a system job's name",
    }),
  ),
  limit: PageQuery.properties.limit,
  before: t.Optional(
    t.Integer({
      title: 'before',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'Entries before this feed position (the previous page’s `nextCursor`)',
    }),
  ),
});
export type AdminAuditQuery = typeof AdminAuditQuery.static;
