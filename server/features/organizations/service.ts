import { asc, eq, gt, sql } from 'drizzle-orm';
import { type Database, defineStatement, inOrder, type ScopedDb, selectRows } from '../../../db/client.ts';
import { isForeignKeyViolation } from '../../../db/errors.ts';
import { type Organization, organizations } from '../../../db/schema/index.ts';
import { runInTenant, type TenantScope } from '../../../db/tenant.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError } from '../../errors.ts';
import { type AuditWho, changesOf, recordAudit, target } from '../audit/record.ts';
import type { OrganizationModel, OrganizationPage } from './model.ts';

export function toOrganizationDto(row: Organization): OrganizationModel {
  return {
    id: row.id,
    name: row.name,
    parentId: row.parentId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const parentNotFound = () =>
  new AppError('validation-failed', 'The parent organization does not exist.', {
    errors: [{ path: '/parentId', message: 'No organization with this id' }],
  });

/** Serialises hierarchy changes within one tenant, so two concurrent moves cannot build a cycle. */
async function lockHierarchy(db: ScopedDb, tenantId: string): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`organizations:${tenantId}`}, 0))`);
}

async function requireParent(db: ScopedDb, parentId: string): Promise<void> {
  const [parent] = await db
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.id, parentId));
  if (!parent) throw parentNotFound();
}

/** Lowest possible UUID: `id > NIL` is the first page, so one prepared statement serves every page. */
const FIRST_PAGE = '00000000-0000-0000-0000-000000000000';

// RLS limits the rows to the tenant; ids are UUIDv7, so id order is creation order.
const organizationPage = defineStatement<{ after: string; limit: number }, Organization[]>(
  'organization_page',
  (db) =>
    db
      .select()
      .from(organizations)
      .where(gt(organizations.id, sql.placeholder('after')))
      .orderBy(asc(organizations.id))
      .limit(sql.placeholder('limit')),
);

const organizationById = defineStatement<{ id: string }, Organization[]>('organization_by_id', (db) =>
  db
    .select()
    .from(organizations)
    .where(eq(organizations.id, sql.placeholder('id'))),
);

export async function listOrganizations(
  database: Database,
  scope: TenantScope,
  options: { limit: number; cursor?: string },
): Promise<OrganizationPage> {
  const rows = await runInTenant(database, scope, organizationPage, {
    after: options.cursor ?? FIRST_PAGE,
    limit: options.limit + 1,
  });
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    items: page.map(toOrganizationDto),
    nextCursor: rows.length > options.limit && last ? last.id : null,
  };
}

function foundOrganization(rows: Organization[]): OrganizationModel {
  const [row] = rows;
  if (!row) throw new AppError('not-found', 'No such organization.');
  return toOrganizationDto(row);
}

/** One organization of the tenant, in its own single-statement transaction. */
export async function readOrganization(
  database: Database,
  scope: TenantScope,
  id: string,
): Promise<OrganizationModel> {
  return foundOrganization(await runInTenant(database, scope, organizationById, { id }));
}

async function getOrganization(db: ScopedDb, id: string): Promise<OrganizationModel> {
  return foundOrganization(await db.select().from(organizations).where(eq(organizations.id, id)));
}

export async function createOrganization(
  db: ScopedDb,
  input: { tenantId: string; name: string; parentId?: string | null; who?: AuditWho },
): Promise<OrganizationModel> {
  if (input.parentId) await requireParent(db, input.parentId);
  try {
    const [row] = await db
      .insert(organizations)
      .values({ tenantId: input.tenantId, name: input.name.trim(), parentId: input.parentId ?? null })
      .returning();
    if (!row) throw new Error('insert returned no row');
    const organization = toOrganizationDto(row);
    // The event and the audit entry leave together (pipelined): no round trip more than the event's.
    await inOrder(
      () => publish(db, 'organization.created', { organization }),
      () =>
        input.who &&
        recordAudit(db, input.tenantId, input.who, {
          action: 'organization.created',
          targets: [target('organization', organization.id, organization.name)],
          changes: changesOf(null, { name: organization.name, parentId: organization.parentId }),
        }),
    );
    return organization;
  } catch (error) {
    // The parent was deleted between the check and the insert.
    if (isForeignKeyViolation(error)) throw parentNotFound();
    throw error;
  }
}

async function wouldCreateCycle(db: ScopedDb, id: string, newParentId: string): Promise<boolean> {
  // Walk up from the new parent; reaching `id` means `id` would become its own ancestor.
  const [row] = await selectRows<{ found: boolean }>(
    db,
    sql`
    with recursive ancestors(id, parent_id, depth) as (
      select id, parent_id, 0 from organizations where id = ${newParentId}
      union all
      select o.id, o.parent_id, a.depth + 1
      from organizations o join ancestors a on o.id = a.parent_id
      where a.depth < 10000
    )
    select exists(select 1 from ancestors where id = ${id}) as found`,
  );
  return row?.found === true;
}

export async function updateOrganization(
  db: ScopedDb,
  input: { tenantId: string; id: string; name?: string; parentId?: string | null; who: AuditWho },
): Promise<OrganizationModel> {
  const changesParent = input.parentId !== undefined;
  if (changesParent) await lockHierarchy(db, input.tenantId);
  const current = await getOrganization(db, input.id);
  if (changesParent && input.parentId) {
    if (input.parentId === input.id) {
      throw new AppError('organization-cycle', 'An organization cannot be its own parent.');
    }
    await requireParent(db, input.parentId);
    if (await wouldCreateCycle(db, input.id, input.parentId)) {
      throw new AppError('organization-cycle', 'The new parent is a descendant of this organization.');
    }
  }
  const [row] = await db
    .update(organizations)
    .set({
      ...(input.name !== undefined ? { name: input.name.trim() } : {}),
      ...(changesParent ? { parentId: input.parentId ?? null } : {}),
      updatedAt: new Date(),
    })
    .where(eq(organizations.id, current.id))
    .returning();
  if (!row) throw new AppError('not-found', 'No such organization.');
  const organization = toOrganizationDto(row);
  const changes = [
    ...(input.name !== undefined && organization.name !== current.name ? (['name'] as const) : []),
    ...(changesParent && organization.parentId !== current.parentId ? (['parentId'] as const) : []),
  ];
  await inOrder(
    () => changes.length > 0 && publish(db, 'organization.updated', { organization, changes }),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'organization.updated',
        targets: [target('organization', organization.id, organization.name)],
        changes: changesOf(
          { name: current.name, parentId: current.parentId },
          { name: organization.name, parentId: organization.parentId },
        ),
      }),
  );
  return organization;
}

export async function deleteOrganization(
  db: ScopedDb,
  input: { tenantId: string; id: string; who: AuditWho },
): Promise<void> {
  await lockHierarchy(db, input.tenantId);
  const [child] = await db
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.parentId, input.id))
    .limit(1);
  if (child) {
    throw new AppError('organization-has-children', 'Move or delete its child organizations first.');
  }
  const [deleted] = await db
    .delete(organizations)
    .where(eq(organizations.id, input.id))
    .returning({ id: organizations.id, name: organizations.name, parentId: organizations.parentId });
  if (!deleted) throw new AppError('not-found', 'No such organization.');
  await inOrder(
    () => publish(db, 'organization.deleted', { organization: deleted }),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'organization.deleted',
        targets: [target('organization', deleted.id, deleted.name)],
        changes: changesOf({ name: deleted.name, parentId: deleted.parentId }, null),
      }),
  );
}
