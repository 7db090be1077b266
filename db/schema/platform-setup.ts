import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * One-time links that make their holder the first platform admin (printed at start while there is
 * none). Platform data behind the owner connection only: no request role has any grant on it.
 */
export const platformSetupTokens = pgTable('platform_setup_tokens', {
  /** SHA-256 of the token (hex); the token itself is only ever printed. */
  tokenHash: text('token_hash').primaryKey(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  usedBy: uuid('used_by'),
});
