import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { platformSetupTokens } from '../../../db/schema/index.ts';
import type { Logger } from '../../logger.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../opaque-tokens.ts';
import type { AuditWho } from '../audit/record.ts';
import { auditPlatformAdminGrant, flagPlatformAdmins, platformAdminExists } from './grant.ts';

/** How long a printed setup link works. */
const SETUP_LINK_TTL_HOURS = 24;

/**
 * While nobody is a platform admin, every start prints a one-time link (PocketBase does the same for
 * its first superuser): whoever opens it signed in becomes the platform admin. Links printed before
 * stop working. Answers the link, or null when a platform admin exists.
 */
export async function offerPlatformSetup(
  database: Database,
  options: { appUrl: string; logger: Logger },
): Promise<string | null> {
  if (await platformAdminExists(database)) return null;
  const { token, hash } = newOpaqueToken('ps_');
  await database.owner.transaction(async (tx) => {
    await tx.delete(platformSetupTokens).where(isNull(platformSetupTokens.usedAt));
    await tx.insert(platformSetupTokens).values({
      tokenHash: hash,
      expiresAt: new Date(Date.now() + SETUP_LINK_TTL_HOURS * 3_600_000),
    });
  });
  const link = `${options.appUrl}/admin/setup#${token}`;
  options.logger.warn(
    { setupLink: link, validHours: SETUP_LINK_TTL_HOURS },
    `No platform admin yet: open ${link} (signed in, or sign up first) to become the platform admin. The link works once.`,
  );
  return link;
}

/** Spends a setup link on the signed-in person `userId`; false when the token is unknown, used or expired. */
export async function redeemPlatformSetup(
  database: Database,
  input: { token: string; userId: string; who: AuditWho },
): Promise<boolean> {
  const spent = await database.owner
    .update(platformSetupTokens)
    .set({ usedAt: new Date(), usedBy: input.userId })
    .where(
      and(
        eq(platformSetupTokens.tokenHash, hashOpaqueToken(input.token)),
        isNull(platformSetupTokens.usedAt),
        gt(platformSetupTokens.expiresAt, new Date()),
      ),
    )
    .returning({ tokenHash: platformSetupTokens.tokenHash });
  if (spent.length === 0) return false;
  await flagPlatformAdmins(database, sql`id = ${input.userId}::uuid`);
  await auditPlatformAdminGrant(database, input.userId, input.who, 'setup-link');
  return true;
}
