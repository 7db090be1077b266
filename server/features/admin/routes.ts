import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withPlatformAdmin } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { platformAdminWho, recordAudit, target } from '../audit/record.ts';
import { adjustCreditsByAdmin, setPlanByAdmin } from '../billing/service.ts';
import { CreditMovementModel, problemsFor, Timestamp, Uuid } from '../shared-model.ts';
import {
  AdminAuditPage,
  AdminAuditQuery,
  AdminTenantDetail,
  AdminTenantModel,
  AdminTenantPage,
  AdminTenantQuery,
} from './model.ts';
import {
  findTenantForAdmin,
  listAdminAuditEvents,
  listAllTenants,
  readTenantForAdmin,
  setTenantStatus,
  tenantExists,
} from './service.ts';

const tags = ['admin'];

export function adminRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'admin-routes', prefix: '/v1/admin' })
    .use(authentication(deps))
    .get(
      '/tenants',
      ({ actor, query }) =>
        withPlatformAdmin(database, actor.userId, (db) =>
          listAllTenants(db, {
            limit: query.limit ?? 50,
            cursor: query.cursor,
            sessionId: actor.sessionId,
            filters: { q: query.q, status: query.status },
          }),
        ),
      {
        auth: 'session',
        query: AdminTenantQuery,
        response: {
          200: AdminTenantPage,
          ...problemsFor(401, 403, 422),
        },
        detail: {
          tags,
          summary: 'Every tenant (platform administrators only)',
          description:
            'By id, in keyset pages (`nextCursor`); `q` and `status` narrow the list and the pages follow the same filters. Each tenant with its member count, plan and credit balance.',
        },
      },
    )
    .get(
      '/tenants/:id',
      ({ actor, params }) =>
        withPlatformAdmin(
          database,
          actor.userId,
          (db) =>
            readTenantForAdmin(db, {
              tenantId: params.id,
              adminUserId: actor.userId,
              sessionId: actor.sessionId,
            }),
          { tenantId: params.id },
        ),
      {
        auth: 'session',
        params: t.Object({ id: Uuid }),
        response: {
          200: AdminTenantDetail,
          ...problemsFor(401, 403, 404, 422),
        },
        detail: {
          tags,
          summary: 'One tenant with its members (platform administrators only)',
          description: 'The members are the first 100 by id; `memberCount` counts them all.',
        },
      },
    )
    .get(
      '/audit-logs',
      async ({ actor, query }) => {
        const filters = { tenantId: query.tenantId, action: query.action, actorId: query.actorId };
        const limit = query.limit ?? 50;
        // A read of the audit log is itself recorded: in the tenant read when the read names one that
        // exists (its people see that a platform admin read their trail), else in the admin's own tenant.
        const named =
          query.tenantId !== undefined &&
          (await withPlatformAdmin(database, actor.userId, (db) =>
            tenantExists(db, query.tenantId as string),
          ));
        const recordedIn = named ? (query.tenantId as string) : actor.tenantId;
        return withPlatformAdmin(
          database,
          actor.userId,
          async (db) => {
            const page = await listAdminAuditEvents(db, {
              limit,
              before: query.before,
              filters,
              sessionId: actor.sessionId,
            });
            await recordAudit(db, recordedIn, platformAdminWho(actor.who), {
              action: 'audit.read',
              targets: [],
              metadata: {
                scope: named ? 'one tenant' : 'every tenant',
                filters: Object.fromEntries(
                  Object.entries(filters).filter(([, value]) => value !== undefined),
                ),
                limit,
                ...(query.before !== undefined ? { before: String(query.before) } : {}),
                returned: page.items.length,
              },
            });
            return page;
          },
          { tenantId: recordedIn },
        );
      },
      {
        auth: 'session',
        query: AdminAuditQuery,
        response: {
          200: AdminAuditPage,
          ...problemsFor(401, 403, 422),
        },
        detail: {
          tags,
          summary: "Every tenant's newest audit entries (platform administrators only)",
          description:
            'The `audit.recorded` events of the cross-tenant feed, newest first, as `admin:audit` delivers them (with `auditPosition`). Filters combine; pages follow `nextCursor` as `before`. Subscribe to `admin:audit` with `after: head` for the entries recorded since, with no gap.',
        },
      },
    )
    .patch(
      '/tenants/:id',
      async ({ actor, params, body }) => {
        if (body.status === undefined && body.planId === undefined) {
          throw new AppError('validation-failed', 'Send status, planId or both.', {
            errors: [{ path: '/', message: 'Nothing to change' }],
          });
        }
        // One transaction acting in the tenant, and one audit entry for what it changed.
        await withPlatformAdmin(
          database,
          actor.userId,
          async (db) => {
            const changes: Record<string, [unknown, unknown]> = {};
            const metadata: Record<string, unknown> = {};
            let name: string | null = null;
            if (body.status !== undefined) {
              const set = await setTenantStatus(db, {
                sessionId: actor.sessionId,
                tenantId: params.id,
                status: body.status,
              });
              name = set.tenant.name;
              if (set.from !== set.tenant.status) changes.status = [set.from, set.tenant.status];
            }
            if (body.planId !== undefined) {
              const plan = await setPlanByAdmin(db, {
                adminUserId: actor.userId,
                sessionId: actor.sessionId,
                tenantId: params.id,
                planId: body.planId,
              });
              if (plan.from !== plan.to) changes.planId = [plan.from, plan.to];
              metadata.creditsGranted = plan.creditsGranted;
            }
            await recordAudit(db, params.id, platformAdminWho(actor.who), {
              action: 'admin.tenant_updated',
              targets: [target('tenant', params.id, name)],
              changes,
              metadata,
            });
          },
          { tenantId: params.id },
        );
        // A suspension stops the tenant's tokens and keys on their next request, remembered checks too.
        if (body.status !== undefined) await database.invalidateAccess([params.id]);
        return withPlatformAdmin(database, actor.userId, (db) =>
          findTenantForAdmin(db, { tenantId: params.id, sessionId: actor.sessionId }),
        );
      },
      {
        auth: 'session',
        params: t.Object({ id: Uuid }),
        body: t.Object(
          {
            status: t.Optional(t.Union([t.Literal('active'), t.Literal('suspended')])),
            planId: t.Optional(
              t.Union([t.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' }), t.Null()], {
                description:
                  'A plan of the catalog, set by hand (with its monthly allowance), or null for none',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: AdminTenantModel,
          ...problemsFor(401, 403, 404, 409, 422),
        },
        detail: {
          tags,
          summary: 'Suspend or reactivate a tenant, or set its plan (platform administrators only; recorded)',
          description:
            '409 `subscription-exists` when the tenant pays through a live Stripe subscription (the plan is Stripe’s to change).',
        },
      },
    )
    .post(
      '/tenants/:id/credits',
      async ({ actor, params, body, set }) => {
        const moved = await adjustCreditsByAdmin(database, {
          adminUserId: actor.userId,
          sessionId: actor.sessionId,
          tenantId: params.id,
          amount: body.amount,
          reason: body.reason.trim(),
          expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
          who: platformAdminWho(actor.who),
        });
        set.status = 201;
        return moved;
      },
      {
        auth: 'session',
        params: t.Object({ id: Uuid }),
        body: t.Object(
          {
            amount: t.Number({
              minimum: -1_000_000_000_000,
              maximum: 1_000_000_000_000,
              multipleOf: 1,
              description: 'Whole credits to add (positive) or remove (negative); never below a zero balance',
            }),
            reason: t.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
            expiresAt: t.Optional(Timestamp),
          },
          { additionalProperties: false },
        ),
        response: {
          201: CreditMovementModel,
          ...problemsFor(401, 402, 403, 404, 422),
        },
        detail: {
          tags,
          summary: "Adjust a tenant's credits (platform administrators only; recorded)",
          description:
            'An `adjust` ledger entry; removing more than the balance is a 402 `insufficient-credits`.',
        },
      },
    );
}
