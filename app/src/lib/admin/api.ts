import type {
  AdminAuditEventModel,
  AdminAuditPage,
  AdminTenantDetail,
  AdminTenantModel,
  AdminTenantPage,
} from '../../../../server/features/admin/model.ts';
import { type AuditAction, auditActions, auditCatalog } from '../../../../server/features/audit/catalog.ts';
import type { CreditMovementModel } from '../../../../server/features/shared-model.ts';
import { requestJson } from '../api';

/**
 * The platform console's calls (`/v1/admin`, platform administrators only). The shapes are the server's
 * TypeBox models, imported as types only.
 */

export type AdminTenant = AdminTenantModel;
export type AdminTenantStatus = AdminTenant['status'];
export type { AdminAuditPage, AdminTenantDetail, AdminTenantPage };
/** One `audit.recorded` event of any tenant, as `admin:audit` delivers it, with its feed position. */
export type AdminAuditEvent = AdminAuditEventModel;
export type AdminCreditMovement = CreditMovementModel;

export interface AdminTenantQuery {
  q?: string;
  /** Empty: any status. */
  status?: AdminTenantStatus | '';
  limit?: number;
  cursor?: string;
}

export interface AdminAuditQuery {
  tenantId?: string;
  action?: string;
  actorId?: string;
  limit?: number;
  before?: number;
}

const tenantPath = (id: string) => `/v1/admin/tenants/${encodeURIComponent(id)}`;

/** One page of every tenant, by id; `q` searches names and slugs. */
export function listAdminTenants(query: AdminTenantQuery = {}): Promise<AdminTenantPage> {
  return requestJson<AdminTenantPage>('GET', '/v1/admin/tenants', {
    query: {
      q: query.q || undefined,
      status: query.status || undefined,
      limit: query.limit,
      cursor: query.cursor,
    },
  });
}

export function getAdminTenant(id: string): Promise<AdminTenantDetail> {
  return requestJson<AdminTenantDetail>('GET', tenantPath(id));
}

/** Suspends or reactivates a tenant, or sets its plan (`null`: none). */
export function updateAdminTenant(
  id: string,
  change: { status?: AdminTenantStatus; planId?: string | null },
): Promise<AdminTenant> {
  return requestJson<AdminTenant>('PATCH', tenantPath(id), { body: change });
}

/** Adds (positive) or removes (negative) whole credits, with the reason the ledger keeps. */
export function adjustAdminTenantCredits(
  id: string,
  adjustment: { amount: number; reason: string },
): Promise<AdminCreditMovement> {
  return requestJson<AdminCreditMovement>('POST', `${tenantPath(id)}/credits`, { body: adjustment });
}

/** The newest audit entries of every tenant (filtered on the server), and the feed's head to follow from. */
export function listAdminAuditEvents(query: AdminAuditQuery = {}): Promise<AdminAuditPage> {
  return requestJson<AdminAuditPage>('GET', '/v1/admin/audit-logs', {
    query: {
      tenantId: query.tenantId || undefined,
      action: query.action || undefined,
      actorId: query.actorId || undefined,
      limit: query.limit,
      before: query.before,
    },
  });
}

/** Every audit action with what it means, from the catalog the server checks filters against. */
export const auditActionChoices: ReadonlyArray<{ action: AuditAction; description: string }> =
  auditActions.map((action) => ({ action, description: auditCatalog[action].description }));
