import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { tenants } from './tenants.ts';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/**
 * The audit trail: one entry per change of tenant data (and per security event), written by
 * `append_audit_entry()` in the transaction of the change. `seq` grows by one per tenant with no gaps;
 * `hash` chains each entry to the one before (decision 0017). Request roles may only insert; a trigger
 * refuses every update and delete except retention pruning.
 */
export const auditEntries = pgTable(
  'audit_entries',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    id: uuid('id').notNull().unique('audit_entries_id_key'),
    occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 3 }).notNull(),
    action: text('action').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    actorName: text('actor_name'),
    targets: jsonb('targets').notNull(),
    context: jsonb('context').notNull(),
    changes: jsonb('changes').notNull(),
    metadata: jsonb('metadata').notNull(),
    outcome: text('outcome').notNull(),
    hash: bytea('hash').notNull(),
    /**
     * What `q` searches, lower-cased (actor name, action, target names; migration 0033), or null when
     * longer than fits an index entry: such entries are searched through the full text instead.
     */
    searchKey: text('search_key').generatedAlwaysAs(sql`audit_search_key(actor_name, action, targets)`),
    /** Each target as a line `type<TAB>id`, or null when too long: the target filters' prefilter. */
    targetKeys: text('target_keys').generatedAlwaysAs(sql`audit_target_keys(targets)`),
  },
  (table) => [
    primaryKey({ name: 'audit_entries_pkey', columns: [table.tenantId, table.seq] }),
    // Row-level security only lets an index serve leakproof operators (=, <, >), so neither a trigram
    // index for `q` nor a GIN index on targets would be used by a request (ILIKE and @> are not leakproof).
    // A tenant's newest-first page scans this index instead (index-only: seq, time and the two keys) and
    // stops at the page's end; a search with no match reads one index entry per entry of the tenant.
    index('audit_entries_tenant_search_idx').on(
      table.tenantId,
      table.seq,
      table.occurredAt,
      table.searchKey,
      table.targetKeys,
    ),
    index('audit_entries_tenant_failures_idx')
      .on(table.tenantId, table.seq)
      .where(sql`${table.outcome} = 'failure'`),
    index('audit_entries_tenant_time_idx').on(table.tenantId, table.occurredAt),
    index('audit_entries_tenant_action_idx').on(table.tenantId, table.action, table.seq),
    index('audit_entries_tenant_actor_idx').on(table.tenantId, table.actorId, table.seq),
  ],
);

/** The newest link of each tenant's chain, locked by every append so concurrent writers form one chain. */
export const auditChainHeads = pgTable('audit_chain_heads', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
  lastHash: bytea('last_hash').notNull(),
});

/**
 * Signed chain heads: a tenant's `(seq, hash)` signed with the audit signing key (Ed25519). Also written
 * to the log stream, so deleting rows here and the newest entries together is still noticed.
 */
export const auditCheckpoints = pgTable(
  'audit_checkpoints',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: bytea('hash').notNull(),
    signedAt: timestamp('signed_at', { withTimezone: true, precision: 3 }).notNull(),
    /** `periodic`, `on-demand` or `retention` (the cut below which entries were pruned). */
    reason: text('reason').notNull(),
    keyId: text('key_id').notNull(),
    signature: bytea('signature').notNull(),
  },
  (table) => [
    primaryKey({ name: 'audit_checkpoints_pkey', columns: [table.tenantId, table.seq, table.keyId] }),
  ],
);

export type AuditEntryRow = typeof auditEntries.$inferSelect;
export type AuditCheckpointRow = typeof auditCheckpoints.$inferSelect;
