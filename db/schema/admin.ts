import { index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns.ts';
import { users } from './users.ts';

/** What platform administrators did, to whom: kept for the audit trail. */
export const adminActions = pgTable(
  'admin_actions',
  {
    id: id(),
    adminUserId: uuid('admin_user_id')
      .notNull()
      .references(() => users.id),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: uuid('target_id').notNull(),
    details: jsonb('details').notNull().default({}),
    createdAt: createdAt(),
  },
  (table) => [index('admin_actions_target_idx').on(table.targetType, table.targetId)],
);

export type AdminAction = typeof adminActions.$inferSelect;
