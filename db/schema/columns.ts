import { timestamp, uuid } from 'drizzle-orm/pg-core';

/** Time-ordered UUIDv7 ids: index-friendly and usable directly as pagination cursors. */
export const id = () =>
  uuid('id')
    .primaryKey()
    .$defaultFn(() => Bun.randomUUIDv7());

export const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
