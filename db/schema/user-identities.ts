import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns.ts';
import { users } from './users.ts';

/**
 * A person's account at an external OpenID Connect provider, linked to their Wrapper account. Found by
 * the provider's stable subject, never by email: an address can change hands at a provider, a subject
 * cannot.
 */
export const userIdentities = pgTable(
  'user_identities',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The provider's id in Wrapper's configuration, e.g. `google`. */
    provider: text('provider').notNull(),
    /** The `sub` claim: the provider's stable id for the person. */
    subject: text('subject').notNull(),
    /** The address the provider last vouched for. */
    email: text('email'),
    createdAt: createdAt(),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('user_identities_provider_subject_key').on(table.provider, table.subject),
    index('user_identities_user_id_idx').on(table.userId),
  ],
);

export type UserIdentity = typeof userIdentities.$inferSelect;
