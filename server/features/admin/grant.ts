import { sql } from 'drizzle-orm';
import { type Database, selectRows } from '../../../db/client.ts';

/**
 * Makes an existing person a platform administrator. Only the owner connection may write the flag; RLS
 * is forced even on the owner, so it is lifted for this one update, inside one transaction.
 */
export async function grantPlatformAdmin(database: Database, email: string): Promise<boolean> {
  const updated = await database.owner.transaction(async (tx) => {
    await tx.execute(sql`alter table users no force row level security`);
    const rows = await selectRows<{ id: string }>(
      tx,
      sql`update users set is_platform_admin = true, updated_at = now() where lower(email) = ${email.trim().toLowerCase()} returning id`,
    );
    await tx.execute(sql`alter table users force row level security`);
    return rows;
  });
  return updated.length > 0;
}
