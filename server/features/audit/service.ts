import { and, asc, desc, eq, gt, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { Database, ScopedDb } from '../../../db/client.ts';
import { type AuditEntryRow, auditEntries } from '../../../db/schema/index.ts';
import { type TenantScope, withTenant } from '../../../db/tenant.ts';
import { type AuditAction, auditActions, auditCatalog } from './catalog.ts';
import { toHex } from './chain.ts';
import type { AuditEntry } from './model.ts';

/** What a list or an export of the trail is narrowed to (all optional; together they all apply). */
export interface AuditFilters {
  actorId?: string;
  action?: AuditAction;
  targetType?: string;
  targetId?: string;
  outcome?: 'success' | 'failure';
  /** Entries that occurred at or after this instant. */
  from?: Date;
  /** Entries that occurred before this instant (exclusive: `from`/`to` windows tile without overlap). */
  to?: Date;
  /** Case-insensitive substring of the actor's name, a target's name or the action. */
  q?: string;
}

/** `%`, `_` and the escape character itself stand for themselves in a `q` search. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (match) => `\\${match}`);

/** The columns of an entry (not the generated search keys). */
const entryColumns = {
  tenantId: auditEntries.tenantId,
  seq: auditEntries.seq,
  id: auditEntries.id,
  occurredAt: auditEntries.occurredAt,
  action: auditEntries.action,
  actorType: auditEntries.actorType,
  actorId: auditEntries.actorId,
  actorName: auditEntries.actorName,
  targets: auditEntries.targets,
  context: auditEntries.context,
  changes: auditEntries.changes,
  metadata: auditEntries.metadata,
  outcome: auditEntries.outcome,
  hash: auditEntries.hash,
};
type EntryRow = Omit<AuditEntryRow, 'searchKey' | 'targetKeys'>;

/**
 * The filters as two lists: `indexed` reads only columns of `audit_entries_tenant_search_idx` or the
 * other indexes' leakproof comparisons, and may let through a few entries too many (the search keys
 * are null for entries too long for an index entry); `exact` then decides on those few rows.
 * Migration 0036 explains why: row-level security keeps LIKE and @> from using an index.
 */
function conditions(tenantId: string, filters: AuditFilters): { indexed: SQL[]; exact: SQL[] } {
  const indexed: SQL[] = [eq(auditEntries.tenantId, tenantId)];
  const exact: SQL[] = [];
  if (filters.actorId !== undefined) indexed.push(eq(auditEntries.actorId, filters.actorId));
  if (filters.action !== undefined) indexed.push(eq(auditEntries.action, filters.action));
  if (filters.outcome !== undefined) indexed.push(eq(auditEntries.outcome, filters.outcome));
  if (filters.from !== undefined) indexed.push(gte(auditEntries.occurredAt, filters.from));
  if (filters.to !== undefined) indexed.push(lt(auditEntries.occurredAt, filters.to));
  if (filters.targetType !== undefined || filters.targetId !== undefined) {
    // A line of target_keys is "\n<type>\t<id>\n": one target matching both.
    const line = `${filters.targetType !== undefined ? `\n${escapeLike(filters.targetType)}` : ''}\t${
      filters.targetId !== undefined ? `${escapeLike(filters.targetId)}\n` : ''
    }`;
    indexed.push(sql`(${auditEntries.targetKeys} like ${`%${line}%`} or ${auditEntries.targetKeys} is null)`);
    const target = {
      ...(filters.targetType !== undefined ? { type: filters.targetType } : {}),
      ...(filters.targetId !== undefined ? { id: filters.targetId } : {}),
    };
    exact.push(sql`${auditEntries.targets} @> ${JSON.stringify([target])}::jsonb`);
  }
  if (filters.q !== undefined) {
    const pattern = `%${escapeLike(filters.q)}%`;
    indexed.push(
      sql`(${auditEntries.searchKey} like lower(${pattern}) or ${auditEntries.searchKey} is null)`,
    );
    exact.push(
      sql`audit_search_text(${auditEntries.actorName}, ${auditEntries.action}, ${auditEntries.targets}) like lower(${pattern})`,
    );
  }
  return { indexed, exact };
}

/** An entry row as the API answers and exports it (what the chain's digest covers, with seq and hash). */
export function toAuditEntry(row: EntryRow): AuditEntry {
  return {
    id: row.id,
    tenantId: row.tenantId,
    seq: Number(row.seq),
    occurredAt: row.occurredAt.toISOString(),
    action: row.action,
    actor: { type: row.actorType as AuditEntry['actor']['type'], id: row.actorId, name: row.actorName },
    targets: row.targets as AuditEntry['targets'],
    context: row.context as AuditEntry['context'],
    changes: row.changes as AuditEntry['changes'],
    metadata: row.metadata as AuditEntry['metadata'],
    outcome: row.outcome as AuditEntry['outcome'],
    hash: toHex(row.hash),
  };
}

/**
 * Up to `limit` entries after `position` (a seq; newest first: smaller seqs, oldest first: greater),
 * and the seq to continue after, or null at the end. Two statements when a filter needs its exact check
 * (q, targets): the seqs through the index first, then those entries; one otherwise. A page holds fewer
 * than `limit` entries only at the end, or when candidates of the first step fail the exact check.
 */
async function readPage(
  db: ScopedDb,
  tenantId: string,
  filters: AuditFilters,
  order: 'newest' | 'oldest',
  limit: number,
  position: number | undefined,
): Promise<{ rows: EntryRow[]; next: number | null }> {
  const { indexed, exact } = conditions(tenantId, filters);
  if (position !== undefined) {
    indexed.push(order === 'newest' ? lt(auditEntries.seq, position) : gt(auditEntries.seq, position));
  }
  const ordering = order === 'newest' ? desc(auditEntries.seq) : asc(auditEntries.seq);
  if (exact.length === 0) {
    const rows = await db
      .select(entryColumns)
      .from(auditEntries)
      .where(and(...indexed))
      .orderBy(ordering)
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return { rows: page, next: rows.length > limit ? Number(page.at(-1)?.seq) : null };
  }
  const candidates = await db
    .select({ seq: auditEntries.seq })
    .from(auditEntries)
    .where(and(...indexed))
    .orderBy(ordering)
    .limit(limit + 1);
  const seqs = candidates.slice(0, limit).map((candidate) => Number(candidate.seq));
  const next = candidates.length > limit ? (seqs.at(-1) ?? null) : null;
  if (seqs.length === 0) return { rows: [], next };
  const rows = await db
    .select(entryColumns)
    .from(auditEntries)
    .where(and(eq(auditEntries.tenantId, tenantId), inArray(auditEntries.seq, seqs), ...exact))
    .orderBy(ordering);
  return { rows, next };
}

/**
 * One page of the tenant's trail, newest first. The cursor is the seq of the last entry of the
 * previous page (entries with a smaller seq follow): seq orders a tenant's trail without ties.
 */
export async function listAuditEntries(
  db: ScopedDb,
  tenantId: string,
  input: { filters: AuditFilters; limit: number; cursor?: number },
): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
  const page = await readPage(db, tenantId, input.filters, 'newest', input.limit, input.cursor);
  return { items: page.rows.map(toAuditEntry), nextCursor: page.next === null ? null : String(page.next) };
}

/** Entries per read of an export: a batch is the most an export holds in memory at once. */
export const EXPORT_BATCH = 1000;

/**
 * The tenant's entries matching `filters` in seq order (oldest first), read in keyset batches of
 * `batch`, each batch in a transaction of its own (no connection is held between batches, and the
 * access check runs again for each). Stops when the caller stops asking (`return()` of the iterator).
 */
export async function* exportAuditEntries(
  database: Database,
  scope: TenantScope,
  tenantId: string,
  filters: AuditFilters,
  batch: number = EXPORT_BATCH,
): AsyncGenerator<AuditEntry[]> {
  let after: number | undefined;
  for (;;) {
    const page = await withTenant(database, scope, (db) =>
      readPage(db, tenantId, filters, 'oldest', batch, after),
    );
    if (page.rows.length > 0) yield page.rows.map(toAuditEntry);
    if (page.next === null) return;
    after = page.next;
  }
}

/** The action catalog as `GET /v1/audit-logs/catalog` serves it. */
export const actionCatalog = {
  actions: auditActions.map((action) => ({
    action,
    description: auditCatalog[action].description,
    targets: [...auditCatalog[action].targets],
  })),
};

/** The filters as an audit entry's metadata records them (dates as ISO text, unset ones left out). */
export function filtersMetadata(filters: AuditFilters): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    metadata[name] = value instanceof Date ? value.toISOString() : String(value);
  }
  return metadata;
}
