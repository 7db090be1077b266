import type { KeyObject } from 'node:crypto';
import { and, asc, desc, eq, gt, lte } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { auditCheckpoints, auditEntries } from '../../../db/schema/index.ts';
import { type TenantScope, withTenant } from '../../../db/tenant.ts';
import { type ChainVerdict, ChainVerifier } from './chain.ts';
import { checkpointFromRow, readChainHead } from './checkpoints.ts';
import { toAuditEntry } from './service.ts';

export interface VerifyChainOptions {
  /** Entries read per transaction (memory stays one batch). @default 1000 */
  batchSize?: number;
  /** Keys the checkpoints may be signed with. */
  publicKey: KeyObject | readonly KeyObject[];
}

/**
 * Verifies one tenant's chain as the tenant itself reads it (role app_user, RLS): its checkpoints and
 * chain head first, then its entries in seq order, a batch per transaction, up to that head (entries
 * appended meanwhile are left for the next run). With an actor, each transaction checks its access.
 */
export async function verifyTenantChain(
  database: Database,
  scope: TenantScope,
  options: VerifyChainOptions,
): Promise<ChainVerdict> {
  const tenantId = typeof scope === 'string' ? scope : scope.tenantId;
  const batchSize = options.batchSize ?? 1000;
  // Checkpoints before the head: a checkpoint is only ever written after the head it signs committed,
  // so none seen here can be ahead of the head read next.
  const { checkpoints, head } = await withTenant(database, scope, async (db) => {
    const rows = await db.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId));
    return { checkpoints: rows.map(checkpointFromRow), head: await readChainHead(db) };
  });
  const verifier = new ChainVerifier({ tenantId, checkpoints, publicKey: options.publicKey, head });
  const through = head?.seq ?? 0;
  let after = 0;
  let going = through > 0;
  while (going) {
    const rows = await withTenant(database, scope, (db) =>
      db
        .select()
        .from(auditEntries)
        .where(
          and(
            eq(auditEntries.tenantId, tenantId),
            gt(auditEntries.seq, after),
            lte(auditEntries.seq, through),
          ),
        )
        .orderBy(asc(auditEntries.seq))
        .limit(batchSize),
    );
    for (const row of rows) {
      if (!verifier.add(toAuditEntry(row))) {
        going = false;
        break;
      }
      after = row.seq;
    }
    if (rows.length < batchSize) going = false;
  }
  // Entries past the head: appended since it was read (the head has moved on with them), or written
  // without the head (forged). The newest entry is read before the head: an append commits both at once.
  const beyond = await withTenant(database, scope, async (db) => {
    const [newest] = await db
      .select({ seq: auditEntries.seq })
      .from(auditEntries)
      .where(eq(auditEntries.tenantId, tenantId))
      .orderBy(desc(auditEntries.seq))
      .limit(1);
    const now = await readChainHead(db);
    if (!newest || newest.seq <= (now?.seq ?? 0)) return null;
    const [first] = await db
      .select({ id: auditEntries.id, seq: auditEntries.seq })
      .from(auditEntries)
      .where(and(eq(auditEntries.tenantId, tenantId), gt(auditEntries.seq, now?.seq ?? 0)))
      .orderBy(asc(auditEntries.seq))
      .limit(1);
    return first ?? null;
  });
  if (beyond) verifier.failAt(beyond.seq, 'head-mismatch', beyond.id);
  return verifier.finish();
}
